"""A new user's trial of the day's features (search of parts, shares, date/number filters,
downloads, uploads, the local server): the defects it found, each over HTTP."""

from __future__ import annotations

import pytest

from xnat_sdk.errors import XNATValidationError
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

from tests.integration.conftest import RequestLog

# -- date and number listing filters ----------------------------------------------------------


def test_date_and_number_filters_xnat_cannot_read_are_refused_before_sending(
    server: LocalXNAT, xnat_project: str, session: XNATSession, log: RequestLog
) -> None:
    """A date filter XNAT cannot parse ('2024', an open range, a wildcard) failed XNAT's
    query (an empty 200: 'the body is not JSON'; or a 500), as did a number filter with a
    wildcard or a word; a number on a subject's part (yob) was not known as a number."""
    p = xnat_project
    server.seed_subject(p, "S1", fields={"yob": "1970"})
    server.seed_subject(p, "S2", fields={"yob": "1990"})
    server.seed_session(p, "S1", "A", fields={"date": "2024-01-05"})
    experiments, subjects = session.projects[p].experiments, session.projects[p].subjects
    before = len(log)
    for bad in ("2024", "2024-01-05..", "2024-01-0*", "2024-13-01", "2024-01-05T10:00"):
        with pytest.raises(XNATValidationError, match="a filter on a date field takes") as info:
            experiments.filter(date=bad)
        assert info.value.field == "date" and repr(bad) in str(info.value)
    for bad in ("abc", "19*", "-5"):
        with pytest.raises(XNATValidationError, match="a filter on a number field takes"):
            subjects.filter(yob=bad)
    assert len(log) == before  # nothing was sent
    assert [s.label for s in subjects.filter(yob="1960..1980")] == ["S1"]  # as dates take ..
    assert [s.label for s in subjects.filter(yob="1980-1995")] == ["S2"]


def test_insert_date_filter_is_sent_as_a_date(
    server: LocalXNAT, xnat_project: str, session: XNATSession
) -> None:
    """The guide names ``insert_date`` a date field: it was sent as given (an ISO range), a
    query XNAT fails (500)."""
    p = xnat_project
    server.seed_subject(p, "S1")
    server.seed_session(p, "S1", "A")
    found = session.experiments.filter(project=p, insert_date="2000-01-01..2999-12-31")
    assert [e.label for e in found] == ["A"]
    assert [s.label for s in session.projects[p].subjects.filter(insert_date="2000-01-01")] == []
