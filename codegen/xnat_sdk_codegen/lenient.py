"""Accept what XNAT's schema loader accepts: a pass over each XSD file, before xsdata reads it.

Real plugin XSDs are often not schema-valid, yet XNAT loads them: its loader (XFT,
``org.nrg.xft.schema``) walks the DOM by node name and ignores what it does not look for.
This pass rewrites the constructs XNAT reads leniently into their valid equivalent, with a
:class:`SchemaLeniencyWarning` naming the file, line and element, and refuses what cannot be
represented with a :class:`~xnat_sdk_codegen.reader.SchemaError` naming the same. Per construct
(XNAT's source in brackets):

* D1 ``xs:element`` directly inside ``xs:extension`` or ``xs:complexType`` (beside the model
  group): moved into the sequence, in document order [``XFTField.HandleComplexType`` handles
  every ``element`` child of the node it walks, whatever the node is].
* D2 text inside a model group (a leftover ``-->``): dropped [``HandleComplexType`` dispatches
  on node names; text nodes match none].
* D3 ``xs:restriction`` directly under ``xs:element``/``xs:attribute``: wrapped in an
  ``xs:simpleType`` [``XFTRule(Node, ...)`` looks for the restriction as a grandchild, then as a
  child].
* D4 an unprefixed type reference when no default namespace is declared: resolved in the
  schema's target namespace (an XSD builtin name when the target namespace has no such type)
  [``NodeWrapper.FindNode`` prefixes an unprefixed name with the target-namespace prefix;
  ``XFTField.AddField`` treats names it cannot find as standard data types].
* references (``xs:group ref=``, ``xs:attributeGroup ref=``, ``xs:element ref=``) to the
  file's own top-level definitions: read in place [``XFTField.GetFields`` walks group and
  attributeGroup nodes; ``XFTField.AddField`` makes an element reference a field of the
  referenced element's type (``XFTReferenceField``)].
* ``use=`` on an element: ``optional`` makes it optional, ``required`` required
  [``GenericWrapperField.getRequired`` checks ``use`` of every field].
* ``xs:any`` / ``xs:anyAttribute`` wildcards: left out with a warning [XNAT's loader has no
  case for them; nothing is stored].
* D5 an element with ``type=`` and an inline type: the value keeps the ``type=`` type and the
  inline part is kept too: an inline restriction's facets restrict it, an inline complexType's
  attributes become attributes of a simple-content element [``XFTDataField.setProperties``
  takes the type from ``type=`` and the facets from ``XFTRule``; its constructor reads the inline
  complexType's attributes as child fields (``XFTField.GetFields``)].
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["Refused", "SchemaLeniencyWarning", "line_of", "prepare"]

XS_NS = "http://www.w3.org/2001/XMLSchema"
_XS = "{" + XS_NS + "}"

_ELEMENT_ONLY = frozenset(
    _XS + n
    for n in (
        "schema", "complexType", "complexContent", "simpleContent", "extension", "sequence",
        "choice", "all", "element", "attribute", "simpleType", "restriction", "annotation",
        "group", "attributeGroup", "list", "union",
    )
)  # fmt: skip
"""XSD elements whose content is elements only (text inside them means nothing)."""

_BUILTINS = frozenset(
    [
        "string",
        "normalizedString",
        "token",
        "anyURI",
        "language",
        "Name",
        "NCName",
        "ID",
        "IDREF",
        "IDREFS",
        "ENTITY",
        "ENTITIES",
        "NMTOKEN",
        "NMTOKENS",
        "QName",
        "NOTATION",
        "duration",
        "base64Binary",
        "hexBinary",
        "gYear",
        "gYearMonth",
        "gMonth",
        "gMonthDay",
        "gDay",
        "anySimpleType",
        "anyType",
        "boolean",
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
        "float",
        "double",
        "decimal",
        "date",
        "dateTime",
        "time",
    ]
)


class SchemaLeniencyWarning(UserWarning):
    """A schema construct XNAT accepts although it is not valid XSD; the generator read it the
    way XNAT does (the message names file, line, element and what was done)."""


class Refused(Exception):
    """A construct that cannot be represented (the reader raises it as its SchemaError)."""


def _where(path: Path, node: Any) -> str:
    local = str(node.tag).replace(_XS, "xs:")
    named = "".join(f" {a}={node.get(a)!r}" for a in ("name", "ref") if node.get(a))
    return f"{path}:{node.sourceline}: <{local}{named}>"


def _warn(path: Path, node: Any, message: str) -> None:
    warnings.warn(SchemaLeniencyWarning(f"{_where(path, node)}: {message}"), stacklevel=3)


def _xs(node: Any, *names: str) -> bool:
    return isinstance(node.tag, str) and node.tag in {_XS + n for n in names}


def _tns_prefix(root: Any) -> str | None:
    tns = root.get("targetNamespace")
    for prefix, ns in root.nsmap.items():
        if prefix and ns == tns:
            return str(prefix)
    return None


def _xs_prefix(node: Any) -> str:
    for prefix, ns in node.nsmap.items():
        if prefix and ns == XS_NS:
            return str(prefix)
    return "xs"


def _strip_text(path: Path, root: Any) -> None:
    """D2: drop text inside element-only XSD nodes."""
    for node in root.iter():
        if not isinstance(node.tag, str) or node.tag not in _ELEMENT_ONLY:
            continue
        if node.text and node.text.strip():
            _warn(path, node, f"text {node.text.strip()!r} inside it ignored, as XNAT does")
            node.text = None
        for kid in node:
            if kid.tail and kid.tail.strip():
                _warn(path, node, f"text {kid.tail.strip()!r} inside it ignored, as XNAT does")
                kid.tail = None


def _loose_elements(path: Path, root: Any) -> None:
    """D1: ``xs:element`` children of ``xs:extension``/``xs:complexType`` go into the group."""
    from lxml import etree

    for holder in list(root.iter(_XS + "extension", _XS + "complexType")):
        loose = [k for k in holder if _xs(k, "element")]
        if not loose:
            continue
        holder = _content_holder(path, holder, loose[0])
        group = next((k for k in holder if _xs(k, "sequence", "choice", "all")), None)
        if group is None:
            group = etree.Element(_XS + "sequence")
            first_attr = next((k for k in holder if _xs(k, "attribute", "attributeGroup")), None)
            if first_attr is None:
                holder.append(group)
            else:
                first_attr.addprevious(group)
        kids = list(holder)
        for el in loose:
            if el.getparent() is not holder:  # beside a complexContent: its extension's group
                _warn(path, el, "element beside the complexContent of its type: read as part "
                      "of the extension's group, as XNAT does")  # fmt: skip
                group.append(el)
                continue
            _warn(path, el, "element directly inside its type, beside the model group: read as "
                  "part of the group, as XNAT does")  # fmt: skip
            before = kids.index(el) < kids.index(group)
            if before:
                group.insert(sum(1 for k in loose if kids.index(k) < kids.index(el)), el)
            else:
                group.append(el)


def _where_tag(node: Any) -> str:
    return str(node.tag).replace(_XS, "xs:")


def _content_holder(path: Path, holder: Any, first: Any) -> Any:
    """Where a complexType's loose elements belong: the type itself, or the extension of its
    ``xs:complexContent`` (XNAT reads them as fields of the type either way); beside an
    ``xs:simpleContent`` or a restriction they cannot be represented."""
    content = next((k for k in holder if _xs(k, "complexContent", "simpleContent")), None)
    if content is None:
        return holder
    extension = next((k for k in content if _xs(k, "extension")), None)
    if extension is None or _xs(content, "simpleContent"):
        raise Refused(f"{_where(path, first)}: element beside an {_where_tag(content)} "
                      "that is not a complexContent extension: cannot be represented")  # fmt: skip
    return extension


def _bare_restrictions(path: Path, root: Any) -> None:
    """D3: ``xs:restriction`` directly under ``xs:element``/``xs:attribute``."""
    from lxml import etree

    for node in list(root.iter(_XS + "element", _XS + "attribute")):
        for kid in list(node):
            if _xs(kid, "restriction"):
                _warn(path, node, "xs:restriction without xs:simpleType: read as its simpleType, "
                      "as XNAT does")  # fmt: skip
                simple = etree.Element(_XS + "simpleType")
                kid.addprevious(simple)
                simple.append(kid)


def _own_type_names(root: Any) -> set[str]:
    return {str(n.get("name")) for n in root if _xs(n, "simpleType", "complexType")}


def _unprefixed_refs(path: Path, root: Any) -> None:
    """D4: unprefixed QName references without a default namespace."""
    if None in root.nsmap:
        return
    own = _own_type_names(root)
    tns_prefix = _tns_prefix(root)
    for node in root.iter():
        if not _xs(node, "element", "attribute", "extension", "restriction"):
            continue
        attr = "type" if _xs(node, "element", "attribute") else "base"
        ref = node.get(attr)
        if not ref or ":" in ref:
            continue
        if ref in own and (tns_prefix is not None or not root.get("targetNamespace")):
            if tns_prefix is None:
                continue  # no target namespace: unprefixed names are already right
            node.set(attr, f"{tns_prefix}:{ref}")
            _warn(path, node, f"unprefixed {attr}={ref!r} with no default namespace: resolved "
                  f"in the target namespace ({tns_prefix}:{ref}), as XNAT does")  # fmt: skip
        elif ref in own:
            raise Refused(f"{_where(path, node)}: unprefixed {attr}={ref!r} and the target "
                           "namespace has no prefix to refer to it")  # fmt: skip
        elif ref in _BUILTINS:
            prefix = _xs_prefix(node)
            node.set(attr, f"{prefix}:{ref}")
            _warn(path, node, f"unprefixed {attr}={ref!r} with no default namespace: read as "
                  f"the XSD builtin {prefix}:{ref}, as XNAT does")  # fmt: skip


def _element_use(path: Path, root: Any) -> None:
    """``use=`` on an element (an attribute's property): XNAT reads it
    (``GenericWrapperField.getRequired``): ``optional`` makes the value optional whatever
    ``minOccurs`` says, ``required`` makes it required (kept as ``xdat:field required``)."""
    from lxml import etree

    for node in root.iter(_XS + "element"):
        use = node.attrib.pop("use", None)
        if use is None:
            continue
        if use == "optional":
            node.set("minOccurs", "0")
        elif use == "required":
            annotation = node.find(_XS + "annotation")
            if annotation is None:
                annotation = etree.Element(_XS + "annotation")
                node.insert(0, annotation)
            appinfo = etree.SubElement(annotation, _XS + "appinfo")
            etree.SubElement(appinfo, "{http://nrg.wustl.edu/xdat}field", required="true")
        _warn(path, node, f"use={use!r} on an element: read as XNAT reads it (value {use})")


def _inline_with_type(path: Path, root: Any) -> None:
    """D5: ``type=`` together with an inline simpleType or complexType."""
    for node in list(root.iter(_XS + "element", _XS + "attribute")):
        type_ref = node.get("type")
        inline = [k for k in node if _xs(k, "simpleType", "complexType")]
        if not type_ref or not inline:
            continue
        kid = inline[0]
        if _xs(kid, "simpleType"):
            _merge_simple(path, node, kid, type_ref)
        else:
            _merge_complex(path, node, kid, type_ref)
        del node.attrib["type"]


def _merge_simple(path: Path, node: Any, simple: Any, type_ref: str) -> None:
    restriction = next((k for k in simple if _xs(k, "restriction")), None)
    if restriction is None:
        raise Refused(f"{_where(path, node)}: type={type_ref!r} and an inline simpleType that "
                       "is not a restriction: cannot be represented")  # fmt: skip
    if restriction.get("base") not in (None, type_ref):
        raise Refused(f"{_where(path, node)}: type={type_ref!r} and an inline restriction of "
                       f"{restriction.get('base')!r}: cannot be represented")  # fmt: skip
    restriction.set("base", type_ref)
    _warn(path, node, f"type={type_ref!r} and an inline restriction: the value is {type_ref} "
          "restricted by the inline facets, as XNAT reads it")  # fmt: skip


def _merge_complex(path: Path, node: Any, ct: Any, type_ref: str) -> None:
    from lxml import etree

    others = [
        k
        for k in ct
        if isinstance(k.tag, str) and not _xs(k, "attribute", "annotation", "anyAttribute")
    ]  # comments are no content
    if others or _xs(node, "attribute"):
        raise Refused(f"{_where(path, node)}: type={type_ref!r} and an inline complexType with "
                       "content other than attributes: cannot be represented")  # fmt: skip
    local = type_ref.rpartition(":")[2]
    if any(t.get("name") == local for t in node.getroottree().iter(_XS + "complexType")):
        # a simple value with attributes cannot extend a complex type's elements
        raise Refused(f"{_where(path, node)}: type={type_ref!r} (a complexType) and an inline "
                       "complexType: cannot be represented")  # fmt: skip
    content = etree.SubElement(ct, _XS + "simpleContent")
    ext = etree.SubElement(content, _XS + "extension", base=type_ref)
    for attr in [k for k in ct if _xs(k, "attribute", "anyAttribute")]:
        ext.append(attr)
    _warn(path, node, f"type={type_ref!r} and an inline complexType: read as a {type_ref} value "
          "with the inline attributes, as XNAT reads it")  # fmt: skip


def _definitions(root: Any) -> dict[tuple[str, str], Any]:
    """Top-level ``(kind, name)`` -> node of the groups, attribute groups and elements."""
    return {
        (str(n.tag).replace(_XS, ""), str(n.get("name"))): n
        for n in root
        if _xs(n, "group", "attributeGroup", "element") and n.get("name")
    }


def _local_ref(node: Any, root: Any) -> str | None:
    """The local name of ``node``'s ``ref`` when it names this schema's namespace."""
    ref = str(node.get("ref"))
    prefix, _, local = ref.rpartition(":")
    namespace = node.nsmap.get(prefix or None)
    return local if namespace == root.get("targetNamespace") else None


def _inline_refs(path: Path, root: Any) -> None:
    """``xs:group``, ``xs:attributeGroup`` and ``xs:element`` references to this file's own
    top-level definitions are replaced by a copy of what they name, as XNAT reads them
    (``XFTField.GetFields`` walks groups and attribute groups in place; an element reference
    is a field of the referenced element's type). Others stay and are refused."""
    import copy

    defs = _definitions(root)
    for _ in range(20):  # definitions may refer to each other; a cycle stays and is refused
        refs = [n for n in _in_data_types(root) if n.get("ref")
                and _xs(n, "group", "attributeGroup", "element")]  # fmt: skip
        done = 0
        for node in refs:
            kind = str(node.tag).replace(_XS, "")
            local = _local_ref(node, root)
            target = defs.get((kind, local or ""))
            if target is None:
                continue
            if kind == "element":
                new = copy.deepcopy(target)
                if new.get("type") is None and new.find(_XS + "complexType") is not None:
                    for kid in list(new):
                        new.remove(kid)  # the element's anonymous type is a data type itself
                    new.set("type", str(node.get("ref")))
                for attr in ("minOccurs", "maxOccurs"):
                    if node.get(attr) is not None:
                        new.set(attr, str(node.get(attr)))
                replacement = [new]
            elif kind == "group":
                replacement = [
                    copy.deepcopy(k) for k in target if _xs(k, "sequence", "choice", "all")
                ]
                for group in replacement:
                    for attr in ("minOccurs", "maxOccurs"):
                        if node.get(attr) is not None:
                            group.set(attr, str(node.get(attr)))
            else:
                replacement = [copy.deepcopy(k) for k in target if not _xs(k, "annotation")]
            for new in replacement:
                node.addprevious(new)
            node.getparent().remove(node)
            _warn(path, node, f"{kind} reference {node.get('ref')!r} read in place, as XNAT does")
            done += 1
        if not done:
            return


def _in_data_types(root: Any) -> list[Any]:
    """The nodes inside the data types the generator builds: the named complex types and,
    outside the xdat annotation vocabulary, the global elements' anonymous ones."""
    tops = [n for n in root if _xs(n, "complexType")]
    if root.get("targetNamespace") != _XDAT_NS:
        tops += [c for n in root if _xs(n, "element") for c in n if _xs(c, "complexType")]
    return [n for top in tops for n in top.iter() if n is not top]


_XDAT_NS = "http://nrg.wustl.edu/xdat"


def _wildcards(path: Path, root: Any) -> None:
    """``xs:any`` / ``xs:anyAttribute``: XNAT stores nothing for them (its loader has no case
    for wildcards: ``XFTField.HandleComplexType``/``AddField`` skip them), so they are left
    out, with a warning."""
    for node in _in_data_types(root):
        if _xs(node, "any", "anyAttribute"):
            _warn(path, node, "a wildcard: XNAT stores nothing for it, so no field is made")
            node.getparent().remove(node)


def _refs(root: Any) -> Iterator[tuple[Any, str]]:
    """Constructs inside the data types (the ones the generator builds) that it cannot
    represent, with what to say about them."""
    for node in _in_data_types(root):
        if _xs(node, "element", "attribute", "group", "attributeGroup") and node.get("ref"):
            kind = node.tag.replace(_XS, "xs:")
            yield (
                node,
                (
                    f"{kind} reference to a definition outside this file, or to an attribute, "
                    "or a circular one: not supported"
                ),
            )
        elif _xs(node, "restriction") and node.getparent().tag == _XS + "complexContent":
            yield node, "derivation by restriction of a complex type is not supported"


def prepare(path: Path, data: bytes) -> bytes:
    """The schema *data* of *path* as valid XSD bytes (UTF-8) that xsdata reads, rewritten
    the way XNAT reads it (warnings say what); raises :class:`Refused` on what cannot be
    represented."""
    from lxml import etree

    parser = etree.XMLParser(remove_blank_text=False, resolve_entities=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise Refused(f"{path}:{exc.lineno}: not well-formed XML: {exc.msg}") from exc
    if root.tag != _XS + "schema":
        raise Refused(f"{path}:{root.sourceline}: the root element is not xs:schema")
    _strip_text(path, root)
    _bare_restrictions(path, root)
    _loose_elements(path, root)
    _unprefixed_refs(path, root)
    _inline_with_type(path, root)
    _element_use(path, root)
    _inline_refs(path, root)
    _wildcards(path, root)
    for node, message in _refs(root):
        raise Refused(f"{_where(path, node)}: {message}")
    out: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    return out


def line_of(file: str, type_name: str, trail: tuple[str, ...] = ()) -> int | None:
    """The line of the schema element a reader message is about: the top-level complexType
    or element ``type_name`` (``prefix:`` ignored; a child item type ``owner_element`` such
    as ``reviewData_scan`` is the element below its owner), then the ``trail`` of elements
    and ``@attributes`` below it. None when the file or the element cannot be found."""
    if not Path(file).is_file():
        return None
    from lxml import etree

    try:
        root = etree.parse(file).getroot()
    except (OSError, etree.XMLSyntaxError):
        return None
    tops = {str(n.get("name")): n for n in root if _xs(n, "complexType", "element")}
    parts = type_name.rsplit(":", 1)[-1].split("_")
    cut = next((i for i in range(len(parts), 0, -1) if "_".join(parts[:i]) in tops), 0)
    node = tops.get("_".join(parts[:cut]))
    steps = ["_".join(parts[cut:])] if parts[cut:] else []
    for step in [*steps, *trail]:
        if node is None:
            break
        tags = (_XS + "attribute",) if step.startswith("@") else (_XS + "element",)
        node = next((n for n in node.iter(*tags) if n.get("name") == step.lstrip("@")), None)
    return None if node is None else int(node.sourceline)
