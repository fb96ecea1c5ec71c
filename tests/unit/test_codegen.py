"""The generator: XSD reading, the IR, naming, the emitted model package and the CLI."""

from __future__ import annotations

import ast
import importlib
import inspect
import keyword
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xnat_sdk_codegen import binding, naming
from xnat_sdk_codegen.cli import main, run
from xnat_sdk_codegen.ir import SchemaSet, TypeSpec
from xnat_sdk_codegen.reader import SchemaError, read_schemas

import xnat_sdk.models as models
from xnat_sdk.bases import XNATObject

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
XNAT_XSD = SCHEMAS / "xnat" / "xnat.xsd"
XDAT_XSD = SCHEMAS / "xdat" / "xdat.xsd"
SITE = REPO / "tests" / "fixtures" / "site_schema"
XS = "{http://www.w3.org/2001/XMLSchema}"
XNAT_NS = "http://nrg.wustl.edu/xnat"

pytestmark = pytest.mark.skipif(
    not XNAT_XSD.is_file(), reason="pinned schemas not materialised (run `make schemas`)"
)


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def schema_set() -> SchemaSet:
    return read_schemas(SCHEMAS, SCHEMAS)


@pytest.fixture(scope="module")
def xnat_root() -> ET.Element:
    return ET.parse(XNAT_XSD).getroot()


def _named_types(root: ET.Element) -> list[ET.Element]:
    return root.findall(XS + "complexType")


def _simple_type_names() -> set[str]:
    names = set()
    for path, prefix in ((XNAT_XSD, "xnat"), (XDAT_XSD, "xdat")):
        for st_el in ET.parse(path).getroot().findall(XS + "simpleType"):
            names.add(f"{prefix}:{st_el.get('name')}")
    return names


def _count_particles(node: ET.Element) -> int:
    count = 0
    for child in node:
        if child.tag == XS + "element":
            count += 1
        elif child.tag in (XS + "sequence", XS + "choice", XS + "all"):
            count += _count_particles(child)
    return count


def _et_field_count(ct: ET.Element, simple_names: set[str]) -> int:
    """Own fields of a complexType, counted independently of the generator."""
    holder = ct
    count = 0
    complex_content = ct.find(XS + "complexContent")
    simple_content = ct.find(XS + "simpleContent")
    if complex_content is not None:
        found = complex_content.find(XS + "extension")
        assert found is not None
        holder = found
    if simple_content is not None:
        found = simple_content.find(XS + "extension")
        assert found is not None
        holder = found
        base = holder.get("base", "")
        if base.startswith("xs:") or base in simple_names:
            count += 1  # the text value
    count += len(holder.findall(XS + "attribute"))
    for group in holder:
        if group.tag in (XS + "sequence", XS + "choice", XS + "all"):
            count += _count_particles(group)
    return count


def _spec(schema_set: SchemaSet, xsi: str) -> TypeSpec:
    return next(t for t in schema_set.types if t.xsi_type == xsi)


def _cls(name: str) -> type[Any]:
    found: type[Any] = getattr(models, name)
    return found


def _annotation(cls: type[Any], field: str) -> str:
    for klass in cls.__mro__:
        ann = inspect.get_annotations(klass)
        if field in ann:
            return str(ann[field])
    raise AssertionError(f"{cls.__name__} has no annotation {field}")


# ------------------------------------------------------------------------ coverage
def test_every_named_complex_type_has_a_class(xnat_root: ET.Element) -> None:
    names = [ct.get("name") for ct in _named_types(xnat_root)]
    assert len(names) == 117
    for name in names:
        xsi = f"xnat:{name}"
        assert xsi in models.XSI_TYPES, xsi
        cls = models.model_for(xsi)
        assert cls is not None and issubclass(cls, XNATObject)
        assert cls.__xsi_type__ == xsi
    assert models.model_for("xnat:noSuchType") is None


def test_field_counts_match_an_independent_reading(
    schema_set: SchemaSet, xnat_root: ET.Element
) -> None:
    simple_names = _simple_type_names()
    checked = 0
    for ct in _named_types(xnat_root):
        spec = _spec(schema_set, f"xnat:{ct.get('name')}")
        assert len(spec.fields) == _et_field_count(ct, simple_names), spec.xsi_type
        emitted = {f.name for f in attrs.fields(_cls(spec.py_name))}
        for f in spec.fields:
            assert (f.py_name in emitted) != f.runtime, (spec.py_name, f.py_name)
        checked += 1
    assert checked == 117
    assert sum(len(t.fields) for t in schema_set.types) > 600


EXPECTED_PY = {
    "xs:string": "str",
    "xs:anyURI": "str",
    "xs:duration": "str",
    "xs:boolean": "bool",
    "xs:integer": "int",
    "xs:int": "int",
    "xs:long": "int",
    "xs:float": "float",
    "xs:double": "float",
    "xs:decimal": "float",
    "xs:date": "datetime.date",
    "xs:dateTime": "datetime.datetime",
    "xs:time": "datetime.time",
}


def test_builtin_types_map_to_python_types(schema_set: SchemaSet) -> None:
    seen: set[str] = set()
    for spec in schema_set.own_types():
        cls = _cls(spec.py_name)
        for f in spec.fields:
            if f.enumeration or f.kind not in ("attribute", "element", "text"):
                continue
            expected = EXPECTED_PY.get(f.xsd_type)
            if expected is None:
                continue
            seen.add(f.xsd_type)
            if f.runtime:
                # provided by a runtime base (e.g. ResourceBase.file_size), not emitted
                continue
            ann = _annotation(cls, f.py_name)
            if f.is_list:
                assert ann == f"list[{expected}]", (spec.py_name, f.py_name, ann)
            elif binding.server_filled(spec.key, f.xsd_name):
                assert ann == expected, (spec.py_name, f.py_name, ann)
            else:
                # optional even when the XSD requires it: objects read from a server lack
                # required fields often; create() demands them instead
                assert ann == f"{expected} | None", (spec.py_name, f.py_name, ann)
    # every builtin the XSD uses was met at least once
    assert {"xs:string", "xs:boolean", "xs:integer", "xs:int", "xs:long", "xs:float"} <= seen
    assert {"xs:double", "xs:date", "xs:dateTime", "xs:time", "xs:anyURI"} <= seen


def test_examples_of_field_types() -> None:
    assert _annotation(models.MrScanDataParametersVoxelRes, "x") == "float | None"
    assert _annotation(models.ExperimentData, "date") == "datetime.date | None"
    assert _annotation(models.ExperimentData, "time") == "datetime.time | None"
    assert _annotation(models.ProjectData, "active") == "bool | None"
    assert _annotation(models.ProjectData, "id") == "str"  # XNAT always fills it
    assert models.ProjectData().id == ""  # not assigned yet
    # use="required", yet typed optional (a stored object may lack it)
    assert _annotation(models.ComputationData, "name") == "str | None"
    assert attrs.fields_dict(models.ComputationData)["name"].metadata["required"] is True
    # a string element XNAT does not require (no length/minLength facet, whatever minOccurs
    # says: GenericWrapperField.getRequired)
    assert "required" not in attrs.fields_dict(models.InvestigatorData)["firstname"].metadata
    assert _annotation(models.ImageScanData, "frames") == "int | None"


def test_enumerations_become_literals() -> None:
    ann = _annotation(models.DemographicData, "gender")
    assert ann == "Literal['male', 'female', 'other', 'unknown', 'M', 'F'] | None"
    assert models.DemographicData(gender="female").gender == "female"


def test_lists_are_lists_with_their_own_default() -> None:
    assert _annotation(models.ProjectData, "aliases") == "list[ProjectDataAlias]"
    a = models.ProjectData(id="P1")
    b = models.ProjectData(id="P2")
    a.aliases.append(models.ProjectDataAlias(alias="x"))
    assert b.aliases == []
    meta = attrs.fields_dict(models.ProjectData)["aliases"].metadata
    assert meta["list"] is True and meta["kind"] == "child" and meta["path"] == "aliases/alias"
    assert models.ProjectDataAlias.__xsi_type__ == "xnat:projectData_alias"


def test_nested_anonymous_types_and_paths() -> None:
    params = attrs.fields_dict(models.MrScanData)["parameters"]
    assert params.metadata["kind"] == "nested" and params.metadata["path"] == "parameters"
    # one concrete form: always there (empty when the server has none)
    assert _annotation(models.MrScanData, "parameters") == "MrScanDataParameters"
    assert models.MrScanData().parameters.tr is None
    tr = attrs.fields_dict(models.MrScanDataParameters)["tr"].metadata
    assert tr["path"] == "parameters/tr" and tr["xpath"] == "xnat:mrScanData/parameters/tr"
    x = attrs.fields_dict(models.MrScanDataParametersVoxelRes)["x"].metadata
    assert x == {
        "xsd": "x",
        "path": "parameters/voxelRes/x",
        "xpath": "xnat:mrScanData/parameters/voxelRes/x",
        "kind": "attribute",
        "list": False,
        "type": "xs:float",
    }
    scanner = attrs.fields_dict(models.ImageSessionDataScanner)
    assert scanner["scanner"].metadata["kind"] == "text"
    assert scanner["scanner"].metadata["path"] == "scanner"
    assert scanner["manufacturer"].metadata["path"] == "scanner/manufacturer"
    scan = models.MrScanData(id="1", parameters=models.MrScanDataParameters(tr=2.3, voxel_res=None))
    assert scan.parameters is not None and scan.parameters.tr == 2.3


def test_field_names_follow_xnatpy() -> None:
    names = set(attrs.fields_dict(models.MrScanData)) | set(attrs.fields_dict(models.MrSessionData))
    assert {"field_strength", "id", "uid", "label", "subject_id", "file_name_uuid"} <= names
    assert "secondary_id" in attrs.fields_dict(models.ProjectData)
    assert "delta_te" in attrs.fields_dict(models.MrScanDataParameters)


def test_inheritance_matches_the_xsd(xnat_root: ET.Element) -> None:
    bound = {
        models.XSI_TYPES[f"xnat:{key.split('}', 1)[1]}"]: base
        for key, base in binding.BINDINGS.items()
    }
    for ct in _named_types(xnat_root):
        cls = _cls(models.XSI_TYPES[f"xnat:{ct.get('name')}"])
        ext = ct.find(f"{XS}complexContent/{XS}extension")
        expected: list[str] = []
        if ext is not None:
            base_cls = models.model_for(ext.get("base", ""))
            assert base_cls is not None
            expected.append(base_cls.__name__)
        if cls.__name__ in bound:
            expected.append(bound[cls.__name__])
        if not expected:
            expected.append("XNATObject")
        assert [b.__name__ for b in cls.__bases__] == expected, cls.__name__
    assert models.ImageSessionData.__bases__[1].__name__ == "ImageSessionBase"
    from xnat_sdk.bases import AssessorBase, ImageSessionBase, ScanBase

    assert issubclass(models.MrSessionData, ImageSessionBase)
    assert issubclass(models.QcManualAssessorData, AssessorBase)
    assert issubclass(models.MrScanData, ScanBase)


def test_binding_table_names_existing_types(xnat_root: ET.Element) -> None:
    names = {ct.get("name") for ct in _named_types(xnat_root)}
    for key in binding.BINDINGS:
        ns, local = key[1:].split("}", 1)
        assert ns == XNAT_NS and local in names


def test_generated_classes_follow_the_contract() -> None:
    kinds = {"attribute", "element", "text", "nested", "child"}
    for name in sorted(set(models._MODULES)):
        cls = _cls(name)
        assert "__slots__" in cls.__dict__, name
        assert "__eq__" not in cls.__dict__, name
        assert isinstance(cls.__xsi_type__, str) and isinstance(cls.__xsd_abstract__, bool)
        for f in attrs.fields(cls):
            assert f.kw_only
            if f.metadata.get("runtime"):  # the runtime base's parent= (xnatpy's creation)
                assert f.alias == "parent" and f.default is None, (name, f.name)
                continue
            assert {"xsd", "path", "xpath", "kind", "list"} <= set(f.metadata), (name, f.name)
            assert f.metadata["kind"] in kinds
            is_factory = isinstance(f.default, attrs.Factory)  # type: ignore[arg-type]
            single = f.metadata["kind"] in ("nested", "child") and not f.metadata["list"]
            # lists, and single nested objects of one concrete form, have a factory
            assert is_factory == (f.metadata["list"] or (single and "| None" not in str(f.type)))
            assert f.default is not attrs.NOTHING, (name, f.name)  # nothing is demanded
    assert models.MrSessionData.__xsd_element__ == "MRSession"
    assert models.ImageSessionData.__xsd_element__ is None


def test_opaque_prov_type(schema_set: SchemaSet) -> None:
    cls = models.model_for("prov:process")
    assert cls is models.ProvProcess
    assert issubclass(cls, XNATObject) and attrs.fields(cls) == ()
    users = [(t, f) for t in schema_set.types for f in t.fields if f.xsd_type == "prov:process"]
    assert len(users) == 3
    for spec, f in users:
        assert f.kind == "child"
        assert _annotation(_cls(spec.py_name), f.py_name) == "ProvProcess | None"


def test_runtime_navigation_fields_are_not_generated(schema_set: SchemaSet) -> None:
    session = _spec(schema_set, "xnat:imageSessionData")
    scans = next(f for f in session.fields if f.xsd_name == "scans")
    assert scans.runtime and scans.path == "scans/scan"
    assert "scans" not in attrs.fields_dict(models.ImageSessionData)


def test_lazy_package_imports_nothing_up_front() -> None:
    code = (
        "import sys, xnat_sdk.models as m\n"
        "loaded = [k for k in sys.modules if k.startswith('xnat_sdk.models.')]\n"
        "assert loaded == [], loaded\n"
        "assert 'MrSessionData' in dir(m)\n"
        "from xnat_sdk.models import MrSessionData\n"
        "loaded = sorted(k for k in sys.modules if k.startswith('xnat_sdk.models.'))\n"
        "print(len(loaded))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    # MrSessionData, its three XSD ancestors, and the classes of its always-present nested
    # objects (ImageSessionData.scanner in the same module; experimentData's investigator)
    assert int(out) <= 8, out
    with pytest.raises(AttributeError, match="NoSuchModel"):
        models.NoSuchModel  # noqa: B018


# -------------------------------------------------------------------------- naming
def test_naming_examples() -> None:
    assert naming.class_name("xnat:mrSessionData") == "MrSessionData"
    assert naming.class_name("xnat:projectData") == "ProjectData"
    assert naming.class_name("xnat:subjectData_field") == "SubjectDataField"
    assert naming.nested_class_name("MrScanData", "parameters") == "MrScanDataParameters"
    assert naming.field_name("fieldStrength") == "field_strength"
    assert naming.field_name("ID") == "id"
    assert naming.field_name("secondary_ID") == "secondary_id"
    assert naming.field_name("UID") == "uid"
    assert naming.field_name("class") == "class_"
    assert naming.unique("x", {"x", "x_2"}) == "x_3"


@given(st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=20))
def test_field_names_are_identifiers(name: str) -> None:
    py = naming.field_name(name)
    assert py.isidentifier() and not keyword.iskeyword(py)
    assert py == py.lower() and not py.startswith("_")
    assert naming.field_name(py) == py


@given(
    st.text(alphabet="abcXYZ019_-:", min_size=1, max_size=20).filter(
        lambda s: any(c.isalnum() for c in s)
    )
)
def test_class_names_are_identifiers(name: str) -> None:
    py = naming.class_name(name)
    assert py.isidentifier() and py[0].isupper()


# ----------------------------------------------------------------- reader failures
def _write_xsd(folder: Path, body: str, imports: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "broken.xsd"
    path.write_text(
        '<?xml version="1.0"?>\n'
        '<xs:schema targetNamespace="urn:t" xmlns:t="urn:t" xmlns:m="urn:missing" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f"{imports}{body}</xs:schema>\n",
        encoding="utf-8",
    )
    return path


def test_missing_import_fails_loudly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_xsd(
        tmp_path / "s",
        '<xs:complexType name="thing"><xs:sequence>'
        '<xs:element name="x" type="m:gone"/></xs:sequence></xs:complexType>',
        '<xs:import namespace="urn:missing" schemaLocation="nowhere/missing.xsd"/>',
    )
    with pytest.raises(SchemaError, match=r"urn:missing.*nowhere/missing\.xsd"):
        read_schemas(tmp_path / "s", SCHEMAS)
    rc = main(["--schemas", str(tmp_path / "s"), "--out", str(tmp_path / "out")])
    assert rc == 2
    assert "urn:missing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_type_reference_fails_loudly(tmp_path: Path) -> None:
    _write_xsd(
        tmp_path,
        '<xs:complexType name="thing"><xs:sequence>'
        '<xs:element name="x" type="t:nothing"/></xs:sequence></xs:complexType>',
    )
    with pytest.raises(SchemaError, match=r"t:nothing.*not defined"):
        read_schemas(tmp_path, SCHEMAS)


def test_unknown_builtin_fails_loudly(tmp_path: Path) -> None:
    _write_xsd(
        tmp_path,
        '<xs:complexType name="thing"><xs:attribute name="a" type="xs:notAType"/></xs:complexType>',
    )
    with pytest.raises(SchemaError, match="xs:notAType"):
        read_schemas(tmp_path, SCHEMAS)


# ------------------------------------------------------------ determinism and drift
def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.py"))}


def test_generation_is_deterministic(tmp_path: Path) -> None:
    run(SCHEMAS, tmp_path / "a", core_schemas=SCHEMAS, command="cmd")
    run(SCHEMAS, tmp_path / "b", core_schemas=SCHEMAS, command="cmd")
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert len(a) == 120 and a == b  # the modules, __init__ and _classes (session.classes)
    header = a["xnat_mr_session_data.py"].decode().splitlines()[:5]
    assert header[0].startswith("# Generated by xnat_sdk_codegen")
    assert "DO NOT EDIT" in header[0] and header[1] == "# Command: cmd"
    assert any("xnat/xnat.xsd afb39b5515b5" in line for line in header)


def test_committed_models_match_a_fresh_generation(tmp_path: Path) -> None:
    run(SCHEMAS, tmp_path / "fresh", core_schemas=SCHEMAS, command="x")
    committed = REPO / "xnat_sdk" / "models"
    fresh = _tree(tmp_path / "fresh")

    def body(data: bytes) -> bytes:  # the command line in the header may differ
        return b"\n".join(line for line in data.split(b"\n") if not line.startswith(b"# Comm"))

    assert {k: body(v) for k, v in _tree(committed).items()} == {
        k: body(v) for k, v in fresh.items()
    }


def test_drift_check_reports_tampering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "models"
    args = ["--schemas", str(SCHEMAS), "--out", str(out), "--core-schemas", str(SCHEMAS)]
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    before = _tree(out)
    target = out / "xnat_mr_scan_data.py"
    target.write_text(target.read_text() + "# tampered\n")
    (out / "xnat_project_data.py").unlink()
    stale = out / "xnat_gone.py"
    stale.write_text("# Generated by xnat_sdk_codegen. old\n")
    capsys.readouterr()
    assert main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert "differs: xnat_mr_scan_data.py" in err
    assert "missing: xnat_project_data.py" in err
    assert "stale: xnat_gone.py" in err
    assert target.read_text().endswith("# tampered\n")  # check mode wrote nothing
    assert main(args) == 0  # regenerating repairs everything
    assert _tree(out) == before


# ---------------------------------------------------------------------- site models
@pytest.fixture
def site_package(tmp_path: Path) -> Iterator[Path]:
    out = tmp_path / "siteqc_models"
    assert main(["--schemas", str(SITE), "--out", str(out), "--core-schemas", str(SCHEMAS)]) == 0
    sys.path.insert(0, str(tmp_path))
    try:
        yield out
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("siteqc_models")]:
            del sys.modules[name]


def test_site_schema_generates_subclasses_of_the_core(site_package: Path) -> None:
    assert sorted(p.name for p in site_package.glob("*.py")) == [
        "__init__.py",
        "siteqc_qc_assessment_data.py",
    ]
    site = importlib.import_module("siteqc_models")
    cls = site.model_for("siteqc:qcAssessmentData")
    assert cls is site.SiteqcQcAssessmentData
    assert cls.__bases__ == (models.ImageAssessorData,)
    assert cls.__xsd_element__ == "QCAssessment"
    assert site.model_for("xnat:mrSessionData") is models.MrSessionData
    fields = attrs.fields_dict(cls)
    assert _annotation(cls, "rating") == "Literal['pass', 'fail', 'questionable'] | None"
    assert _annotation(cls, "artifact_count") == "int | None"
    assert _annotation(cls, "snr") == "float | None"
    assert _annotation(cls, "review_date") == "datetime.date | None"
    assert _annotation(cls, "comments") == "list[str]"
    assert fields["comments"].metadata["path"] == "comments/comment"
    assert _annotation(cls, "scan_checks") == "list[SiteqcQcAssessmentDataScanCheck]"
    assert _annotation(cls, "reviewer") == "InvestigatorData"
    obj = cls(id="A1", image_session_id="E1", rating="pass", snr=3.5)
    assert obj.snr == 3.5 and obj.comments == []


def _sample(annotation: str) -> Any:
    if annotation.startswith("Literal["):
        return ast.literal_eval(annotation[len("Literal[") : annotation.index("]")].split(",")[0])
    samples: dict[str, Any] = {"str": "x", "int": 1, "float": 1.5, "bool": True}
    return samples[annotation]


def test_every_class_instantiates_with_a_slotted_layout() -> None:
    for name in sorted(models._MODULES):
        cls = _cls(name)
        required = {
            f.name: _sample(_annotation(cls, f.name))
            for f in attrs.fields(cls)
            if f.default is attrs.NOTHING
        }
        obj = cls(**required)
        assert not hasattr(obj, "__dict__"), name
        for key, value in required.items():
            assert getattr(obj, key) == value
        with pytest.raises(TypeError):
            cls(**required, not_a_field=1)


def test_xnat_sdk_generate_command_uses_the_checkout_core_schemas(tmp_path: Path) -> None:
    from xnat_sdk.cli import main as xnat_sdk_main

    out = tmp_path / "site_models"
    assert xnat_sdk_main(["generate", "--schemas", str(SITE), "--out", str(out)]) == 0
    text = (out / "siteqc_qc_assessment_data.py").read_text()
    assert "from xnat_sdk.models.xnat_image_assessor_data import ImageAssessorData" in text


def test_xnat_sdk_generate_takes_every_option_of_the_generator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README's ``xnat-sdk generate --core-schemas schemas`` (it failed with "unrecognized
    arguments" while the command declared its own two options)."""
    from xnat_sdk.cli import main as xnat_sdk_main

    out = tmp_path / "site_models"
    core = Path(__file__).resolve().parents[2] / "schemas"
    args = ["generate", "--schemas", str(SITE), "--out", str(out), "--core-schemas", str(core)]
    assert xnat_sdk_main(args) == 0
    assert xnat_sdk_main([*args, "--check"]) == 0
    assert "is up to date" in capsys.readouterr().out
    (out / "siteqc_qc_assessment_data.py").write_text("# edited\n")
    assert xnat_sdk_main([*args, "--check"]) == 1


def test_restriction_facets_are_kept_in_metadata() -> None:
    coil = attrs.fields_dict(models.MrScanData)["coil"].metadata
    assert coil["facets"] == {"maxLength": 255} and coil["type"] == "xs:string"
    assert "facets" not in attrs.fields_dict(models.MrScanData)["file_name_uuid"].metadata


def test_site_import_by_url_resolves_against_the_core(tmp_path: Path) -> None:
    text = (SITE / "siteqc.xsd").read_text(encoding="utf-8")
    remote = text.replace(
        'schemaLocation="../xnat/xnat.xsd"',
        'schemaLocation="https://xnat.example.org/schemas/xnat/xnat.xsd"',
    )
    assert remote != text
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "siteqc.xsd").write_text(remote, encoding="utf-8")
    schema_set = read_schemas(tmp_path / "s", SCHEMAS)
    own = schema_set.own_types()
    assert [t.xsi_type for t in own] == [
        "siteqc:qcAssessmentData",
        "siteqc:qcAssessmentData_scanCheck",
    ]
    with pytest.raises(SchemaError, match="--core-schemas"):
        read_schemas(tmp_path / "s", None)


def test_repeated_anonymous_elements_use_xnat_pseudo_types() -> None:
    # XNAT names these <owner>_<element> (e.g. generated org.nrg.xdat beans)
    frame = models.model_for("xnat:petScanData_frame")
    assert frame is models.PetScanDataFrame
    assert attrs.fields_dict(models.PetScanDataParametersFrames)["frame"].metadata["path"] == (
        "parameters/frames/frame"
    )
    sliced = models.model_for("xnat:qcAssessmentData_scan_slice")
    assert sliced is models.QcAssessmentDataScanSlice
    meta = attrs.fields_dict(models.QcAssessmentDataScan)["slice_qc"].metadata
    assert meta["path"] == "sliceQC/slice" and meta["kind"] == "child" and meta["list"]
    assert models.model_for("xnat:subjectData_field") is models.SubjectDataField
    value = attrs.fields_dict(models.AddField)["add_field"].metadata
    assert value["kind"] == "text" and value["path"] == "addField"
