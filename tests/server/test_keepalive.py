"""The server keeps HTTP/1.1 connections open between requests, as Tomcat does."""

from __future__ import annotations

import base64
import http.client
from urllib.parse import urlsplit

from xnat_sdk.testing.local import LocalXNAT


def test_two_requests_share_one_connection(xnat_server: LocalXNAT) -> None:
    url = urlsplit(xnat_server.url)
    assert url.hostname is not None and url.port is not None
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
    try:
        conn.request("GET", "/data/projects?format=json", headers=auth)
        first = conn.getresponse()
        assert first.status == 200 and b"ResultSet" in first.read()
        assert first.getheader("Connection", "").lower() != "close"
        sock = conn.sock
        conn.request("GET", "/xapi/siteConfig/buildInfo", headers=auth)
        second = conn.getresponse()
        assert second.status == 200 and b"version" in second.read()
        assert conn.sock is sock  # no reconnect happened
    finally:
        conn.close()
