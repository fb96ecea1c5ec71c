"""Creating archive objects in a collection: which class, which checks, which request.

XNAT's create is a PUT that merges into an existing object, so an existing one is refused
first (one GET); every field is validated before anything is sent.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar

from xnat_sdk._objects.core import XNATObject, field_params, refuse_existing
from xnat_sdk._objects.registry import model_class
from xnat_sdk._values import put_values
from xnat_sdk.errors import XNATValidationError
from xnat_sdk.fields import class_fields, validate_label

if TYPE_CHECKING:
    from xnat_sdk.listings import ListingSpec
    from xnat_sdk.session import XNATSession

__all__ = ["create_item", "create_project", "creation_class"]

_SCAN_ID = re.compile(r"^[A-Za-z0-9_.-]+\Z")
# Fields XNAT fills in itself on creation: never demanded from the caller.
_AUTO_FIELDS = frozenset(
    {
        "id",
        "project",
        "label",
        "subject_id",
        "image_session_id",
        "session_id",
        "imagesession_id",
        # xnat:resource/@URI (required by the XSD): the catalog path, which XNAT assigns
        # when it creates the resource folder
        "uri_",
    }
)


# Base types XNAT refuses to instantiate: a concrete modality or kind is needed.
_TOO_GENERIC = frozenset(
    {
        "xnat:experimentData",
        "xnat:subjectAssessorData",
        "xnat:imageSessionData",
        "xnat:derivedData",
        "xnat:imageAssessorData",
        "xnat:imageScanData",
        "xnat:abstractResource",
    }
)


def creation_class(session: XNATSession, spec: ListingSpec, cls: Any) -> type[XNATObject]:
    """The class a new item of ``spec`` is made of: ``cls`` checked (a concrete model class
    of the listing's base), or the listing's own type when it needs none."""
    if cls is None and spec.needs_type:
        raise XNATValidationError(
            "cls",
            f"name the type of the new {spec.singular}, e.g. "
            f"{spec.name}.create(key, MrSessionData, ...)",
        )
    if cls is None:
        found = model_class(spec.default_xsi, session)
        if found is None or found.__xsd_abstract__:
            raise XNATValidationError(
                "cls",
                f"name the type of the new {spec.singular}, e.g. "
                f"{spec.name}.create(key, MrSessionData, ...)",
            )
        cls = found
    if not (isinstance(cls, type) and issubclass(cls, XNATObject)):
        raise XNATValidationError("cls", f"expected a model class, got {cls!r}")
    expected = spec.base
    if expected is None or not issubclass(cls, expected):
        base = expected.__name__ if expected is not None else "an archive type"
        raise XNATValidationError(
            "cls", f"{cls.__name__} is not a {spec.singular} type (not a {base})"
        )
    if cls.__xsd_abstract__ or cls.__xsi_type__ in _TOO_GENERIC:
        raise XNATValidationError(
            "cls", f"{cls.__name__} is abstract; use a concrete {spec.singular} type"
        )
    return cls


def create_item(
    session: XNATSession,
    spec: ListingSpec,
    uri: str,
    parent: XNATObject | None,
    key: Any,
    klass: type[XNATObject],
    fields: dict[str, Any],
) -> XNATObject:
    """Create ``key`` of class ``klass`` in the collection at ``uri`` (fields validated
    first; an existing item is refused, never merged into) and return it bound."""
    if spec.name == "projects":
        return create_project(klass, session, key, fields)
    if spec.name in ("scans", "reconstructions"):
        if not isinstance(key, str) or not _SCAN_ID.match(key):
            raise XNATValidationError(
                "id", f"{key!r} is not a valid {spec.singular} ID (letters, digits, _ . -)"
            )
    else:
        validate_label(key, spec.create_key or "label")
    _check_container(spec, uri)
    for name in ("label", "id"):
        fields.pop(name, None)
    table = class_fields(klass)
    required = [
        s.name
        for s in table.by_name.values()
        if s.required and s.is_data and s.name not in _AUTO_FIELDS
    ]
    xsi = klass.__xsi_type__
    query: dict[str, str] = {}
    if spec.name == "resources":
        for name, value in fields.items():
            if isinstance(value, XNATObject):
                raise XNATValidationError(name, "resources take plain values only")
        query.update(_resource_params(klass, fields, required))
    else:
        query["xsiType"] = xsi
        query["req_format"] = "qs"
        for _, path, encoded in field_params(
            klass, fields, required=required, skip_none=True, items=True
        ):
            query[f"{xsi}/{path}"] = encoded
    if spec.name != "resources":  # the server itself refuses an existing resource (409)
        refuse_existing(session, f"{uri}/{key}", f"{spec.singular} {key!r}")
    response = put_values(session, f"{uri}/{key}", query)
    created = response.text.strip()
    ident = created if created and "<" not in created and "/" not in created else key
    session.clearcache()
    return klass._xnat_bind(session, f"{uri}/{ident}", xsi=xsi, parent=parent)


def _check_container(spec: ListingSpec, uri: str) -> None:
    if spec.name == "subjects" and "/projects/" not in uri:
        raise XNATValidationError(
            "project", "create subjects through a project: project.subjects.create(...)"
        )
    if spec.name == "experiments" and "/subjects/" not in uri:
        raise XNATValidationError(
            "subject", "create experiments through a subject: subject.experiments.create(...)"
        )


_O = TypeVar("_O", bound=XNATObject)


def _resource_params(
    klass: type[XNATObject], fields: dict[str, Any], required: list[str]
) -> dict[str, str]:
    """The query of a resource PUT: the catalog's own fields by name (``format=DICOM``); a
    site's subtype of ``xnat:resourceCatalog`` adds ``xsiType`` and its own fields as
    ``{xsiType}/{path}`` (XNAT's ``CatalogResource`` loads the item of that type)."""
    catalog = next((c for c in klass.__mro__ if getattr(c, "__xsi_type__", None) == _CATALOG), None)
    own = class_fields(catalog).by_path if catalog is not None else {}
    xsi = klass.__xsi_type__
    query: dict[str, str] = {}
    if catalog is not None and catalog is not klass and xsi:
        query["xsiType"] = xsi
    for _, path, encoded in field_params(klass, fields, required=required):
        query[path if path in own or "xsiType" not in query else f"{xsi}/{path}"] = encoded
    return query


_CATALOG = "xnat:resourceCatalog"


def create_project(cls: type[_O], session: XNATSession, id: str, fields: dict[str, Any]) -> _O:
    """Create a project (``PUT /data/projects/{id}``) after validating every field."""
    session._require_model("ProjectData.create")
    validate_label(id, "id")
    fields.pop("id", None)
    xsi = cls.__xsi_type__ or "xnat:projectData"
    query: dict[str, str] = {"xsiType": xsi}
    for _, path, encoded in field_params(cls, fields, skip_none=True, items=True):
        query[f"{xsi}/{path}"] = encoded
    uri = f"/data/projects/{id}"
    refuse_existing(session, uri, f"project {id!r}")
    put_values(session, uri, query)
    session.clearcache()
    return cls._xnat_bind(session, uri, xsi=xsi)
