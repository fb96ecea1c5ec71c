"""Issue 13: the reader accepts what XNAT's schema loader accepts (D1-D6), one fixture per
construct under tests/fixtures/lenient/, and refuses what it cannot represent naming file,
line and element."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from xnat_sdk_codegen.ir import FieldDecl, SchemaSet, TypeSpec
from xnat_sdk_codegen.lenient import SchemaLeniencyWarning
from xnat_sdk_codegen.reader import SchemaError, read_schemas

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
LENIENT = REPO / "tests" / "fixtures" / "lenient"

pytestmark = pytest.mark.skipif(
    not (SCHEMAS / "xnat" / "xnat.xsd").is_file(), reason="pinned schemas not materialised"
)


def _read(construct: str) -> tuple[SchemaSet, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schema_set = read_schemas(LENIENT / construct, SCHEMAS)
    messages = [str(w.message) for w in caught if issubclass(w.category, SchemaLeniencyWarning)]
    return schema_set, messages


def _type(schema_set: SchemaSet, xsd_name: str) -> TypeSpec:
    return next(t for t in schema_set.own_types() if t.xsd_name == xsd_name)


def _fields(spec: TypeSpec) -> dict[str, FieldDecl]:
    return {f.xsd_name: f for f in spec.fields}


def test_d1_element_beside_the_sequence_joins_it_in_document_order() -> None:
    schema_set, messages = _read("d1")
    spec = _type(schema_set, "probeData")
    assert [f.xsd_name for f in spec.fields if f.kind == "element"] == ["before", "inside", "after"]
    assert _fields(spec)["after"].py_type == "int"
    assert len(messages) == 2
    assert "d1.xsd:10: <xs:element name='before'>" in messages[0]
    assert "d1.xsd:14: <xs:element name='after'>" in messages[1]


def test_d2_stray_text_in_a_model_group_is_ignored_with_a_warning() -> None:
    schema_set, messages = _read("d2")
    assert "kept" in _fields(_type(schema_set, "probeData"))
    assert "d2.xsd:10: <xs:sequence>: text '-->'" in messages[0]
    # wildcards: XNAT stores nothing for them; left out with a warning naming the line
    assert "d2.xsd:13: <xs:any>: a wildcard" in messages[1]
    assert "d2.xsd:15: <xs:anyAttribute>: a wildcard" in messages[2]
    assert len(messages) == 3


def test_d3_restriction_directly_under_an_element_is_its_simple_type() -> None:
    schema_set, messages = _read("d3")
    grade = _fields(_type(schema_set, "probeData"))["grade"]
    assert grade.enumeration == ("A", "B") and grade.py_type == 'Literal["A", "B"]'
    assert len(messages) == 1 and "d3.xsd:11: <xs:element name='grade'>" in messages[0]


def test_d4_unprefixed_reference_resolves_in_the_target_namespace() -> None:
    schema_set, messages = _read("d4")
    fields = _fields(_type(schema_set, "probeData"))
    assert fields["pos"].enumeration == ("left", "right")
    assert fields["count"].py_type == "int"
    assert len(messages) == 2 and "(d4:posType)" in messages[0] and "xs:int" in messages[1]


def test_d5_type_and_inline_type_keep_both_parts() -> None:
    schema_set, messages = _read("d5")
    fields = _fields(_type(schema_set, "probeData"))
    assert fields["label"].facets == (("maxLength", "12"),) and fields["label"].py_type == "str"
    volume = fields["volume"]
    assert volume.kind == "nested" and volume.target is not None
    inner = {f.xsd_name: f for f in schema_set.by_key()[volume.target].fields}
    assert inner["volume"].kind == "text" and inner["volume"].py_type == "float"
    assert inner["volume"].xpath == "d5:probeData/volume"
    assert inner["units"].xpath == "d5:probeData/volume/units"
    assert len(messages) == 2


def test_d6_runtime_names_are_renamed_and_keep_their_xsd_name() -> None:
    schema_set, messages = _read("d6")
    assert messages == []
    spec = _type(schema_set, "probeData")
    assert _fields(spec)["uri"].py_name == "uri_" and not _fields(spec)["uri"].runtime
    options = schema_set.by_key()[_fields(spec)["options"].target or ""]
    names = {f.xsd_name: f.py_name for f in options.fields}
    assert names == {"set": "set_", "data": "data_", "pass": "pass_"}
    assert not any(f.runtime for f in options.fields)


def test_unsupported_constructs_name_file_line_and_element() -> None:
    with pytest.raises(SchemaError) as info:
        read_schemas(LENIENT / "refused", SCHEMAS)
    message = str(info.value)
    assert "refused.xsd:13: <xs:attribute ref='refused:shared'>" in message
    assert "not supported" in message


def test_references_to_the_files_own_definitions_are_read_in_place() -> None:
    schema_set, messages = _read("refs")
    fields = _fields(_type(schema_set, "probeData"))
    assert [f.xsd_name for f in fields.values() if f.kind == "element"] == [
        "left",
        "right",
        "operator",
    ]
    assert fields["left"].py_type == "float" and fields["operator"].min_occurs == 0
    assert fields["toolVersion"].kind == "attribute" and fields["tool"].kind == "attribute"
    assert len(messages) == 3 and all("read in place, as XNAT does" in m for m in messages)


def test_not_well_formed_xml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xsd"
    bad.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">\n<xs:element>\n')
    with pytest.raises(SchemaError, match=r"bad\.xsd:\d+: not well-formed XML"):
        read_schemas(tmp_path, SCHEMAS)


def test_an_unknown_type_is_an_error_naming_file_line_and_element(tmp_path: Path) -> None:
    source = (LENIENT / "d6" / "d6.xsd").read_text("utf-8")
    bad = tmp_path / "bad" / "bad.xsd"
    bad.parent.mkdir()
    bad.write_text(source.replace('name="data" type="xs:string"', 'name="data" type="d6:nope"'))
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "d6:nope" in t)
    with pytest.raises(SchemaError) as info:
        read_schemas(tmp_path, SCHEMAS)
    assert f"bad.xsd:{line}: <probeData/options/data>: type 'd6:nope'" in str(info.value)


_LAST_OPTION = (
    '<xs:element name="pass" type="xs:boolean" minOccurs="0"/>\n              </xs:sequence>'
)


@pytest.mark.parametrize(
    ("old", "new", "marker", "expected"),
    [
        # an attribute below a field's type: the attribute's own line
        (
            _LAST_OPTION,
            _LAST_OPTION + '\n<xs:attribute name="level" type="d6:missing"/>',
            "d6:missing",
            "<probeData/options/@level>: attribute type 'd6:missing'",
        ),
        # the type's own problem: the complexType's line
        (
            'base="xnat:imageAssessorData"',
            'base="d6:absent"',
            'name="probeData"',
            "<probeData>: base type",
        ),
    ],
)
def test_errors_name_the_line_of_what_they_are_about(
    tmp_path: Path, old: str, new: str, marker: str, expected: str
) -> None:
    source = (LENIENT / "d6" / "d6.xsd").read_text("utf-8")
    assert old in source
    bad = tmp_path / "bad" / "bad.xsd"
    bad.parent.mkdir()
    bad.write_text(source.replace(old, new))
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if marker in t)
    with pytest.raises(SchemaError) as info:
        read_schemas(tmp_path, SCHEMAS)
    assert f"bad.xsd:{line}: {expected}" in str(info.value)
    assert info.value.where is not None and info.value.where.file == str(bad)


def test_required_follows_xnat_and_use_on_elements_is_read() -> None:
    schema_set, messages = _read("use")
    fields = _fields(_type(schema_set, "probeData"))
    required = {name: f.required for name, f in fields.items() if f.kind == "element"}
    # use="optional" wins over minOccurs; use="required" wins over the string rule; a string
    # is required only with a length/minLength facet; other values when they must occur
    assert required == {
        "count": False,
        "note": True,
        "text": False,
        "code": True,
        "size": True,
    }
    assert len(messages) == 2 and all("use=" in m for m in messages)


_PROBE = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema targetNamespace="http://example.org/xnat/dx" xmlns:dx="http://example.org/xnat/dx"
           xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xs="http://www.w3.org/2001/XMLSchema"
           elementFormDefault="qualified">
  <xs:import namespace="http://nrg.wustl.edu/xnat" schemaLocation="../xnat/xnat.xsd"/>
{body}
</xs:schema>
"""


def _read_text(tmp_path: Path, body: str) -> tuple[SchemaSet, list[str]]:
    folder = tmp_path / "dx"
    folder.mkdir()
    (folder / "dx.xsd").write_text(_PROBE.format(body=body), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schema_set = read_schemas(folder, SCHEMAS)
    messages = [str(w.message) for w in caught if issubclass(w.category, SchemaLeniencyWarning)]
    return schema_set, messages


def test_d1_element_beside_a_complex_content_joins_its_extension(tmp_path: Path) -> None:
    body = """  <xs:complexType name="probeData">
    <xs:complexContent>
      <xs:extension base="xnat:imageAssessorData">
        <xs:sequence><xs:element name="inside" type="xs:string" minOccurs="0"/></xs:sequence>
      </xs:extension>
    </xs:complexContent>
    <xs:element name="stray" type="xs:int" minOccurs="0"/>
  </xs:complexType>"""
    schema_set, messages = _read_text(tmp_path, body)
    fields = _fields(_type(schema_set, "probeData"))
    assert {"inside", "stray"} <= set(fields) and fields["stray"].py_type == "int"
    assert len(messages) == 1 and "dx.xsd:12: <xs:element name='stray'>" in messages[0]


def test_d1_element_beside_a_simple_content_is_refused_naming_it(tmp_path: Path) -> None:
    body = """  <xs:complexType name="probeData">
    <xs:simpleContent><xs:extension base="xs:string"/></xs:simpleContent>
    <xs:element name="stray" type="xs:int" minOccurs="0"/>
  </xs:complexType>"""
    with pytest.raises(SchemaError, match=r"dx\.xsd:8: <xs:element name='stray'>.*simpleContent"):
        _read_text(tmp_path, body)


def test_d5_a_complex_type_and_an_inline_type_are_refused_not_merged(tmp_path: Path) -> None:
    """A value with attributes cannot extend a complex type's elements: before, the base's
    elements were dropped silently."""
    body = """  <xs:complexType name="partData">
    <xs:sequence><xs:element name="x" type="xs:int" minOccurs="0"/></xs:sequence>
  </xs:complexType>
  <xs:complexType name="probeData">
    <xs:complexContent>
      <xs:extension base="xnat:imageAssessorData">
        <xs:sequence>
          <xs:element name="part" type="dx:partData" minOccurs="0">
            <xs:complexType><xs:attribute name="units" type="xs:string"/></xs:complexType>
          </xs:element>
        </xs:sequence>
      </xs:extension>
    </xs:complexContent>
  </xs:complexType>"""
    with pytest.raises(SchemaError, match=r"dx\.xsd:13: <xs:element name='part'>.*a complexType"):
        _read_text(tmp_path, body)
