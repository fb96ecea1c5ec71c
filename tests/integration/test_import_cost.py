"""``import xnat_sdk`` stays cheap: no requests, rich, pydicom, werkzeug or models."""

from __future__ import annotations

import subprocess
import sys

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
