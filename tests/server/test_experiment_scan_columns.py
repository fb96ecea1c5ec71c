"""The experiments listing with scan XPaths in ``columns=``: one row per scan (issue 16).

XNAT (NrgXnat/xnat-web ``ProjSubExptList.getRepresentation``): ``populateQuery`` hands each
column containing ``/`` to ``QueryOrganizer.addField``; the organizer LEFT JOINs from the root
element (``xsiType=``) down to the scan table, so a session gives one row per scan (its own
columns repeated) and a session without scans one row with empty scan columns;
``formatHeaders`` names a joined column by its XPath. ``xnat:imageScanData/
extension_item/element_name`` is the scan's xsi type (``ScanList``'s ``xsiType`` shortcut).
"""

from __future__ import annotations

import requests

from tests.server.conftest import rows
from xnat_sdk.testing.local import LocalXNAT


def test_scan_columns_give_one_row_per_scan(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    xnat_server.seed_project("JOINP", name="join")
    xnat_server.seed_subject("JOINP", "S1")
    e1 = xnat_server.seed_session("JOINP", "S1", "E1")
    xnat_server.seed_scan(e1, "1", type="T1", fields={"series_description": "t1 mprage"})
    xnat_server.seed_scan(e1, "2", type="CT", xsi_type="xnat:ctScanData")
    e2 = xnat_server.seed_session("JOINP", "S1", "E2")
    columns = (
        "ID,label,xnat:imageScanData/ID,xnat:imageScanData/type,"
        "xnat:imageScanData/series_description,xnat:imageScanData/extension_item/element_name"
    )
    found = rows(
        admin.get(
            f"{xnat_server.url}/data/projects/JOINP/experiments",
            params={"format": "json", "xsiType": "xnat:imageSessionData", "columns": columns},
        )
    )
    picked = [
        (
            r["ID"],
            r["label"],
            r["xnat:imagescandata/id"],
            r["xnat:imagescandata/type"],
            r["xnat:imagescandata/series_description"],
            r["xnat:imagescandata/extension_item/element_name"],
        )
        for r in found
    ]
    assert picked == [
        (e1, "E1", "1", "T1", "t1 mprage", "xnat:mrScanData"),
        (e1, "E1", "2", "CT", "", "xnat:ctScanData"),
        (e2, "E2", "", "", "", ""),
    ]
