"""MkDocs hook: the API reference pages, generated at build time from the code.

* ``reference/runtime/{module}.md``: one mkdocstrings page per public runtime module (its
  ``__all__``); the list is :data:`RUNTIME_MODULES`.
* ``reference/models/index.md``: every xsi type of ``xnat_sdk.models.XSI_TYPES`` and the
  class that models it.
* ``reference/models/{module}.md``: one page per generated module (``xnat_mr_scan_data``),
  a section per class (anchor: the class name) with its xsi type, XSD documentation, base
  classes, subclasses and a table of its fields read from the attrs metadata the generator
  wrote (Python name, type, XSD name, REST path, XPath, enumeration values, maximum length,
  XSD documentation). Single nested elements are flattened (``parameters.tr``), so each row
  says where a dotted attribute comes from.

Nothing here is written by hand per class: a model added by ``make generate`` gets its page
on the next build.
"""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import itertools
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attrs
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

import xnat_sdk
from xnat_sdk import models
from xnat_sdk.fields import FieldSpec, class_fields

#: Public runtime modules and the title of their reference page.
RUNTIME_MODULES: dict[str, str] = {
    "xnat_sdk.connection": "connect()",
    "xnat_sdk.session": "XNATSession",
    "xnat_sdk.bases": "Object bases",
    "xnat_sdk.listings": "Listings and files",
    "xnat_sdk.tables": "Tables",
    "xnat_sdk.search": "Search",
    "xnat_sdk.mapping": "Mapping over an archive",
    "xnat_sdk.bulk": "Bulk downloads",
    "xnat_sdk.prearchive": "Prearchive",
    "xnat_sdk.services": "Services",
    "xnat_sdk.dicom": "DICOM",
    "xnat_sdk.users": "Users",
    "xnat_sdk.plugins": "Plugins",
    "xnat_sdk.inspection": "Inspect",
    "xnat_sdk.generic": "Generic objects and site models",
    "xnat_sdk.auth": "Credentials",
    "xnat_sdk.errors": "Errors",
    "xnat_sdk.fields": "Field metadata",
    "xnat_sdk.progress": "Progress",
    "xnat_sdk.archives": "Archives and safe paths",
    "xnat_sdk.transfers": "Transfers",
    "xnat_sdk.cli": "Command line entry point",
    "xnat_sdk.testing.local": "LocalXNAT",
    "xnat_sdk.testing._server.faults": "Fault injection",
    "xnat_sdk.testing.pytest_plugin": "pytest plugin",
    "xnat_sdk.testing.seed": "Seeding the local server",
    "xnat_sdk.testing.dicomgen": "DICOM test data",
}

#: A private module, documented for its two classes only: users reach ``Faults`` as
#: ``LocalXNAT.faults``.
_FAULTS = "xnat_sdk.testing._server.faults"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated reference pages to the build."""
    for path, text in reference_pages():
        files.append(File.generated(config, path, content=text))
    return files


def reference_pages() -> Iterator[tuple[str, str]]:
    """(path inside docs, Markdown) of every generated page."""
    yield "reference/runtime/index.md", _runtime_index()
    for module, title in RUNTIME_MODULES.items():
        yield f"reference/runtime/{module}.md", _runtime_page(module, title)
    catalogue = ModelCatalogue.load()
    yield "reference/models/index.md", catalogue.index_page()
    for module in sorted(catalogue.modules):
        yield f"reference/models/{module}.md", catalogue.module_page(module)


# -- runtime -------------------------------------------------------------------------------------


def _runtime_index() -> str:
    lines = [
        "# Runtime API",
        "",
        "Every public name of the runtime, module by module (generated from the docstrings).",
        "The package `xnat_sdk` re-exports the everyday ones (`xnat_sdk.connect`,",
        "`xnat_sdk.XNATSession`, the errors ...).",
        "",
        "| Module | Public names |",
        "| --- | --- |",
    ]
    for module, title in RUNTIME_MODULES.items():
        names = ", ".join(f"[`{n}`]({module}.md#{module}.{n})" for n in _public_names(module))
        lines.append(f"| [{title}]({module}.md) (`{module}`) | {names} |")
    lines += ["", "## `import xnat_sdk`", "", "The names of the package itself:", ""]
    lines += [f"- {_package_name_link(name)}" for name in sorted(xnat_sdk.__all__)]
    return "\n".join(lines) + "\n"


def _package_name_link(name: str) -> str:
    """``xnat_sdk.NAME`` linked to the page that documents it."""
    value = getattr(xnat_sdk, name)
    if isinstance(value, types.ModuleType):
        module = value.__name__
        if module in RUNTIME_MODULES:
            return f"[`xnat_sdk.{name}`]({module}.md): the module `{module}`"
        return f"`xnat_sdk.{name}`: the module `{module}`"
    for module in RUNTIME_MODULES:
        if name in _public_names(module):
            return f"[`xnat_sdk.{name}`]({module}.md#{module}.{name})"
    return f"`xnat_sdk.{name}`"


def _public_names(module: str) -> list[str]:
    if module == _FAULTS:
        return ["Faults", "RecordedRequest"]
    found = importlib.import_module(module)
    return sorted(getattr(found, "__all__", []))


def _runtime_page(module: str, title: str) -> str:
    if module == _FAULTS:
        return (
            f"# {title}\n\n"
            "`LocalXNAT.faults` (and `PUT /xapi/testing/faults` on `xnat-sdk serve`) is a\n"
            "`Faults` object: see [the local server guide](../../guide/local-server.md).\n\n"
            + "".join(
                f"::: {_FAULTS}.{name}\n    options:\n      show_root_heading: true\n\n"
                for name in ("Faults", "RecordedRequest")
            )
        )
    if module == "xnat_sdk.session":  # the walks (map, mapping_iter) come from a mixin
        return f"# {title}\n\n::: {module}\n    options:\n      inherited_members: true\n"
    return f"# {title}\n\n::: {module}\n"


# -- models --------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of a fields table."""

    name: str
    spec: FieldSpec
    annotation: str
    doc: str
    owner: type


class ModelCatalogue:
    """Every generated class, by module, with the facts the pages show."""

    def __init__(self, classes: dict[str, type]) -> None:
        self.classes = classes
        self.xsi_of = {name: xsi for xsi, name in models.XSI_TYPES.items()}
        self.modules: dict[str, list[type]] = {}
        self.subclasses: dict[type, list[type]] = {}
        self.docs: dict[str, dict[str, dict[str, str]]] = {}
        for cls in classes.values():
            module = cls.__module__.rsplit(".", 1)[1]
            self.modules.setdefault(module, []).append(cls)
            for base in cls.__bases__:
                if base.__name__ in classes:
                    self.subclasses.setdefault(base, []).append(cls)
        for module, members in self.modules.items():
            members.sort(key=lambda c: (c.__name__ not in self.xsi_of, c.__name__))
            self.docs[module] = _attribute_docs(inspect.getsourcefile(members[0]) or "")

    @classmethod
    def load(cls) -> ModelCatalogue:
        names = [n for n in dir(models) if n[:1].isupper() and n != "XSI_TYPES"]
        found = {n: getattr(models, n) for n in names}
        return cls({n: c for n, c in found.items() if isinstance(c, type) and attrs.has(c)})

    def link(self, cls: type, here: str | None = None) -> str:
        module = cls.__module__.rsplit(".", 1)[1]
        target = "" if module == here else f"{module}.md"
        return f"[`{cls.__name__}`]({target}#{cls.__name__})"

    # pages ------------------------------------------------------------------------------------

    def index_page(self) -> str:
        lines = [
            "# Models",
            "",
            "The classes generated from XNAT's data-model schema (`xnat_sdk.models`), one",
            "page per generated module; every xsi type below links to its class. Each class",
            "lists its fields with their Python name and type, the XSD name, the path of the",
            "value in XNAT's JSON (`data_fields`), the XPath used for writes, the allowed",
            "values and the schema's documentation, then its base classes and subclasses.",
            "",
            f"{len(models.XSI_TYPES)} xsi types, {len(self.classes)} classes "
            "(the others are nested elements such as `MrScanDataParameters`).",
            "",
            "`xnat_sdk.models.XSI_TYPES` maps each xsi type to its class name and",
            "`xnat_sdk.models.model_for(xsi_type)` returns the class (None when unknown);",
            "`session.classes.MrSessionData` is `xnat_sdk.models.MrSessionData`.",
            "",
            "::: xnat_sdk.models.model_for",
            "    options:",
            "      show_root_heading: true",
            "",
            "## Every xsi type",
            "",
            "| xsi type | Class | Documentation |",
            "| --- | --- | --- |",
        ]
        for xsi, name in sorted(models.XSI_TYPES.items(), key=lambda i: i[0].lower()):
            cls = self.classes[name]
            doc = _first_line(cls.__doc__ or "")
            lines.append(f"| `{xsi}` | {self.link(cls)} | {_cell(doc)} |")
        return "\n".join(lines) + "\n"

    def module_page(self, module: str) -> str:
        members = self.modules[module]
        lines = [f"# {module}", ""]
        head = importlib.import_module(members[0].__module__).__doc__ or ""
        lines += [_inline_rst(head.strip()), ""]
        lines.append(f"`from xnat_sdk.models import {', '.join(c.__name__ for c in members)}`")
        lines.append("")
        for cls in members:
            lines += self._class_section(cls, module)
        return "\n".join(lines) + "\n"

    def _class_section(self, cls: type, module: str) -> list[str]:
        name = cls.__name__
        xsi = self.xsi_of.get(name)
        lines = [f"## {name} {{ #{name} }}", ""]
        facts = []
        if xsi:
            facts.append(f"xsi type `{xsi}`")
        if getattr(cls, "__xsd_abstract__", False):
            facts.append("abstract in the schema")
        if facts:
            lines += ["*" + ", ".join(facts) + "*", ""]
        doc = (cls.__doc__ or "").strip()
        if doc:
            lines += [_inline_rst(doc), ""]
        bases = [b for b in cls.__mro__[1:] if b.__name__ in self.classes]
        if bases:
            chain = " → ".join(self.link(b, module) for b in bases)
            lines += [f"**Bases:** {chain} → `XNATObject`", ""]
        subs = sorted(self.subclasses.get(cls, []), key=lambda c: c.__name__)
        if subs:
            lines += ["**Subclasses:** " + ", ".join(self.link(s, module) for s in subs), ""]
        rows = list(self._rows(cls, "", None, set()))
        own = [r for r in rows if r.owner is cls]
        if own:
            lines += _table(own, self, module, name)
        for base in bases:
            names = [r.name for r in rows if r.owner is base and "." not in r.name]
            if names:
                page = "" if base.__module__ == cls.__module__ else _page_of(base)
                listed = ", ".join(f"[`{n}`]({page}#{base.__name__}.{n})" for n in names)
                lines += [f"Inherited from {self.link(base, module)}: {listed}", ""]
        return lines

    def _rows(
        self, cls: type, prefix: str, top_owner: type | None, seen: set[type]
    ) -> Iterator[Row]:
        """The fields of ``cls``, single nested parts flattened under ``prefix`` (their
        owner is the class that declares the outermost field)."""
        table = class_fields(cls)
        for attribute in attrs.fields(cls):
            spec = table.by_name.get(attribute.name)
            if spec is None:
                continue
            declared = _owner(cls, attribute.name)
            owner = top_owner or declared
            doc = self._field_doc(declared, attribute.name)
            yield Row(prefix + spec.name, spec, str(attribute.type), doc, owner)
            target = spec.target
            if spec.single and target is not None and target not in seen and attrs.has(target):
                yield from self._rows(target, f"{prefix}{spec.name}.", owner, seen | {target})

    def _field_doc(self, owner: type, name: str) -> str:
        module = owner.__module__.rsplit(".", 1)[1]
        return self.docs.get(module, {}).get(owner.__name__, {}).get(name, "")


def _owner(cls: type, name: str) -> type:
    """The class along the MRO whose own annotations declare ``name``."""
    for klass in cls.__mro__:
        if name in inspect.get_annotations(klass):
            return klass
    return cls


def _page_of(cls: type) -> str:
    return f"{cls.__module__.rsplit('.', 1)[1]}.md"


def _table(rows: list[Row], catalogue: ModelCatalogue, module: str, owner: str) -> list[str]:
    """The fields table; each row has an anchor ``{owner}.{python name}``."""
    lines = [
        "| Python name | Type | XSD name | REST path | XPath | Values | Documentation |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        spec = row.spec
        values = ", ".join(f"`{v}`" for v in spec.literals)
        notes = []
        if spec.required:
            notes.append("required by the schema")
        if spec.max_length is not None:
            notes.append(f"at most {spec.max_length} characters")
        if spec.is_list:
            notes.append("a list")
        if spec.single:
            notes.append("never None (an empty one stands in)")
        target = spec.target
        type_text = f"`{_short_type(row.annotation)}`"  # a pipe inside a code span stays
        if target is not None and target.__name__ in catalogue.classes:
            link = catalogue.link(target, module)
            type_text = link if row.annotation == target.__name__ else f"{type_text} ({link})"
        doc = "; ".join(x for x in (_cell(row.doc), *notes) if x)
        lines.append(
            f'| <span id="{owner}.{row.name}"></span>`{row.name}` | {type_text} | '
            f"`{spec.xsd}` | `{spec.path}` | "
            f"{f'`{spec.xpath}`' if spec.xpath else ''} | {values} | {doc} |"
        )
    lines.append("")
    return lines


def _short_type(annotation: str) -> str:
    if annotation.startswith("Literal["):
        return "Literal[...]" + annotation[annotation.rindex("]") + 1 :]
    return annotation


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")


def _first_line(text: str) -> str:
    text = text.strip()
    return _inline_rst(text.split("\n\n", 1)[0]) if text else ""


def _load_roles() -> Any:
    """The reST-role rewrite of the griffe extension beside this hook (one rule for the
    pages mkdocstrings renders and the pages this hook writes)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "xnat_sdk_docs_roles", Path(__file__).with_name("griffe_roles.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_inline_rst = _load_roles().roles_to_code


def _attribute_docs(path: str) -> dict[str, dict[str, str]]:
    """class name -> field name -> the docstring under the field (the XSD documentation)."""
    if not path:
        return {}
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    found: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found[node.name] = _docs_of(node.body)
    return found


def _docs_of(body: list[Any]) -> dict[str, str]:
    docs: dict[str, str] = {}
    for first, second in itertools.pairwise(body):
        if (
            isinstance(first, ast.AnnAssign)
            and isinstance(first.target, ast.Name)
            and isinstance(second, ast.Expr)
            and isinstance(second.value, ast.Constant)
            and isinstance(second.value.value, str)
        ):
            docs[first.target.id] = second.value.value.strip()
    return docs
