"""A new user's trial, switching from xnatpy (scripts, typed chains, the command line, bad
input): the defects it found, each over HTTP."""

from __future__ import annotations

import pytest

import xnat_sdk
from xnat_sdk.errors import XNATNotFoundError
from xnat_sdk.testing.local import LocalXNAT

# -- connecting --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/xnat", "/xnat/", "/nothing-here"])
def test_a_login_answered_404_says_the_server_url_is_wrong(server: LocalXNAT, path: str) -> None:
    """A server URL with a path XNAT does not live under (``https://host/xnat`` where XNAT
    is at the root, the most common first mistake) said only the servlet container's "The
    server has not found anything matching the request URI": nothing named the URL."""
    url = server.url + path
    with pytest.raises(XNATNotFoundError) as info:
        xnat_sdk.connect(url, user="admin", password="admin")
    base = url.rstrip("/")
    assert info.value.hint.startswith(f"no XNAT answers at {base}: check the server URL")
    assert info.value.status == 404 and info.value.url == f"{base}/data/JSESSION"
    assert "a path such as /xnat" in str(info.value)
