"""The documentation site builds strictly (``mkdocs build --strict``, as ``make docs``), every
model of ``XSI_TYPES`` and every public runtime name has its anchor in the reference, and
every internal link of the built site leads to a page and an anchor that exist."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import xnat_sdk
from xnat_sdk import models

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return out


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)
            elif key == "href" and value and tag == "a":
                self.links.append(value)


def _pages(site: Path) -> Iterator[tuple[Path, _Page]]:
    for path in sorted(site.rglob("*.html")):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        yield path, page


def _ids(path: Path) -> set[str]:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page.ids


def test_every_xsi_type_has_its_reference_section(site: Path) -> None:
    missing = []
    for xsi, name in models.XSI_TYPES.items():
        module = getattr(models, name).__module__.rsplit(".", 1)[1]
        page = site / "reference" / "models" / module / "index.html"
        if not page.exists() or name not in _ids(page):
            missing.append(f"{xsi} ({name}) in {page.relative_to(site)}")
    assert not missing, missing
    index = (site / "reference" / "models" / "index.html").read_text(encoding="utf-8")
    assert all(f"<code>{xsi}</code>" in index for xsi in models.XSI_TYPES)


def test_mr_scan_page_shows_parameters_tr_and_where_it_comes_from(site: Path) -> None:
    text = (site / "reference/models/xnat_mr_scan_data/index.html").read_text(encoding="utf-8")
    row = re.search(
        r'<tr>\s*<td><span id="MrScanData\.parameters\.tr"></span><code>parameters\.tr</code></td>'
        r"(.*?)</tr>",
        text,
        re.DOTALL,
    )
    assert row, "no row for parameters.tr"
    cells = row.group(1)
    facts = ("float | None", "<code>tr</code>", "parameters/tr", "xnat:mrScanData/parameters/tr")
    for fact in facts:
        assert fact in cells, (fact, cells)
    assert 'href="../xnat_image_scan_data/#ImageScanData"' in text  # its base class


def test_subclasses_and_enumerations_are_listed(site: Path) -> None:
    text = (site / "reference/models/xnat_image_scan_data/index.html").read_text(encoding="utf-8")
    assert 'href="../xnat_mr_scan_data/#MrScanData"' in text  # a subclass of ImageScanData
    demo = (site / "reference/models/xnat_demographic_data/index.html").read_text(encoding="utf-8")
    assert "<code>female</code>" in demo and "<code>ambidextrous</code>" in demo


def _runtime_modules() -> dict[str, str]:
    sys.path.insert(0, str(REPO / "docs" / "hooks"))
    try:
        reference = importlib.import_module("reference")
    finally:
        sys.path.pop(0)
    modules: dict[str, str] = reference.RUNTIME_MODULES
    return modules


def test_every_public_runtime_name_has_an_anchor(site: Path) -> None:
    anchors: set[str] = set()
    for path in (site / "reference" / "runtime").rglob("*.html"):
        anchors |= _ids(path)
    missing = []
    for module in _runtime_modules():
        if module == "xnat_sdk.testing._server.faults":  # documented for these two only
            names = [f"{module}.{n}" for n in ("Faults", "RecordedRequest")]
        else:
            public = importlib.import_module(module).__all__
            names = [f"{module}.{n}" for n in public]
        missing += [n for n in names if n not in anchors]
    documented = {a.rsplit(".", 1)[-1] for a in anchors}
    modules = {m.rsplit(".", 1)[-1] for m in _runtime_modules()}
    for name in xnat_sdk.__all__:
        target = getattr(xnat_sdk, name)
        if isinstance(target, type(xnat_sdk)):
            ok = target.__name__.rsplit(".", 1)[-1] in modules
        else:
            ok = name in documented or name == "__version__"
        if not ok:
            missing.append(f"xnat_sdk.{name}")
    assert not missing, missing


def test_every_public_runtime_name_and_member_has_a_docstring() -> None:
    """The reference shows each public name of a runtime module, and the public methods and
    properties its classes define, with their docstrings (``RemoteStream.seek`` ... had
    none)."""
    import inspect

    missing = []
    for module_name in _runtime_modules():
        module = importlib.import_module(module_name)
        faults = module_name.endswith("._server.faults")
        names = ("Faults", "RecordedRequest") if faults else module.__all__
        for name in names:
            found = getattr(module, name)
            if not (inspect.isclass(found) or inspect.isfunction(found)):
                continue
            if not (found.__doc__ or "").strip():
                missing.append(f"{module_name}.{name}")
            for member, value in vars(found).items() if inspect.isclass(found) else ():
                code = value.fget if isinstance(value, property) else value
                code = getattr(code, "__func__", code)  # a static or class method's function
                if member.startswith("_") or not inspect.isfunction(code):
                    continue
                if not (code.__doc__ or "").strip():
                    missing.append(f"{module_name}.{name}.{member}")
    assert not missing, missing


def test_internal_links_resolve(site: Path) -> None:
    pages = dict(_pages(site))
    broken = []
    for path, page in pages.items():
        for href in set(page.links):
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith("mailto:"):
                continue
            if not parts.path:
                target = path
            elif parts.path.startswith("/"):  # 404.html links from the site's root
                target = site / unquote(parts.path).lstrip("/")
            else:
                target = (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(site)}: {href}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _ids(target)
                if fragment not in ids:
                    broken.append(f"{path.relative_to(site)}: {href} (no anchor)")
    assert not broken, broken[:50]


def test_errors_page_names_every_exception_and_warning() -> None:
    """Those of :mod:`xnat_sdk.errors`, and any other a public module exports
    (``XNATColumnError`` of ``xnat_sdk.tables`` was on no page, ``XNATSeedError`` of
    ``xnat_sdk.testing`` on the local server's only)."""
    import importlib
    import pkgutil

    import xnat_sdk
    from xnat_sdk import errors

    page = (REPO / "docs" / "guide" / "errors.md").read_text(encoding="utf-8")
    classes = {n for n in errors.__all__ if isinstance(getattr(errors, n), type)}
    for info in pkgutil.walk_packages(xnat_sdk.__path__, "xnat_sdk."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or "models" in parts or "cli" in parts:
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            found = getattr(module, name, None)
            if isinstance(found, type) and issubclass(found, errors.XNATError):
                classes.add(name)
    assert "XNATSeedError" in classes
    missing = [n for n in sorted(classes) if f"`{n}`" not in page and f"{n} " not in page]
    assert not missing, missing


def test_readme_links_the_guide_pages_that_exist() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert "docs/guide/getting-started.md" in links
    assert [link for link in links if not (REPO / link).is_file()] == []
    guide = {p.relative_to(REPO).as_posix() for p in (REPO / "docs" / "guide").glob("*.md")}
    assert guide <= set(links), sorted(guide - set(links))


def test_errors_page_tree_is_the_class_hierarchy() -> None:
    """The tree drawn on the errors page has each exception under its real base class."""
    from xnat_sdk import errors

    page = (REPO / "docs" / "guide" / "errors.md").read_text(encoding="utf-8")
    tree = page.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    stack: list[str] = []
    drawn: dict[str, str | None] = {}
    for line in tree:
        match = re.match(r"^([│ ]*)(?:[├└]── )?(XNAT\w+)", line)
        assert match, line
        depth = len(match.group(1)) // 4 + (1 if "──" in line else 0)
        del stack[depth:]
        drawn[match.group(2)] = stack[-1] if stack else None
        stack.append(match.group(2))
    real = {
        name: next((b.__name__ for b in cls.__bases__ if b.__name__.startswith("XNAT")), None)
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type)
        and issubclass(cls, errors.XNATError)
        and cls.__name__ == name  # not the xnatpy aliases
    }
    assert drawn == real
