"""``import xnat_sdk`` stays cheap: no requests, rich, pydicom, werkzeug or models."""

from __future__ import annotations

import subprocess
import sys
import uuid

from xnat_sdk.testing.local import LocalXNAT

HEAVY = ("requests", "rich", "pydicom", "werkzeug", "xsdata", "urllib3", "xnat_sdk.models")


def _modules_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


def test_import_loads_nothing_heavy() -> None:
    loaded = _modules_after("import xnat_sdk")
    assert not [name for name in HEAVY if name in loaded]


def test_public_names_resolve_lazily() -> None:
    loaded = _modules_after("import xnat_sdk\nxnat_sdk.XNATError\nxnat_sdk.XNATValidationError")
    assert "requests" not in loaded
    loaded = _modules_after("import xnat_sdk\nxnat_sdk.connect")
    assert "requests" in loaded


def test_connect_is_the_function_even_after_submodule_import() -> None:
    import xnat_sdk
    import xnat_sdk.connection

    assert callable(xnat_sdk.connect)
    assert xnat_sdk.connect.__name__ == "connect"


# What a first listing does not use: the tree walks (mapping), creation, custom variables,
# data folders, the transfer engine (and tarfile, threads), search, DICOM, tables, mapping's
# executors, dataclasses, difflib, netrc/getpass. Each loads on
# first use (issue 16, cold start: a fresh process to its first project listing).
FIRST_USE_ONLY = (
    "xnat_sdk.mapping",
    "xnat_sdk._objects.creation",
    "xnat_sdk._objects.custom",
    "xnat_sdk._objects.datadir",
    "xnat_sdk.transfers",
    "xnat_sdk.search",
    "xnat_sdk.dicom",
    "xnat_sdk.tables",
    "xnat_sdk.bulk",
    "tarfile",
    "concurrent.futures",
    "dataclasses",
    "difflib",
    "netrc",
    "getpass",
    "xml.etree.ElementTree",
)


def test_first_listing_loads_only_what_it_uses(server: LocalXNAT) -> None:
    project = server.seed_project(f"COLD{uuid.uuid4().hex[:8]}", name="Cold start")
    loaded = _modules_after(
        "import xnat_sdk\n"
        f"s = xnat_sdk.connect({server.url!r}, user='admin', password='admin')\n"
        f"assert s.projects[{project!r}].name == 'Cold start'\n"
        "s.disconnect()"
    )
    assert "xnat_sdk.models.xnat_project_data" in loaded  # the listing did run
    assert [name for name in FIRST_USE_ONLY if name in loaded] == []


def test_the_engine_loads_with_the_first_transfer(server: LocalXNAT) -> None:
    loaded = _modules_after(
        "import io, xnat_sdk\n"
        f"s = xnat_sdk.connect({server.url!r}, user='admin', password='admin')\n"
        "s.download_stream('/data/JSESSION', io.BytesIO())\n"
        "s.disconnect()"
    )
    assert "xnat_sdk.transfers" in loaded
