"""xnatpy's way of creating: ``session.classes.MrSessionData(parent=subject, label="E1")``.

The constructor of an archive class (:class:`~xnat_sdk._objects.core.Creatable`) hands a
``parent`` here: the collection the new object belongs to is chosen from its class (a
subject goes into ``project.subjects``, an image session into ``subject.experiments``, a scan
into ``session.scans`` ...), the object is created there through ``Listing.create`` (fields
validated first, an existing object refused) and the constructed instance is bound in place
to the new server object, so the caller's variable is the live object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xnat_sdk._objects.core import XNATObject
from xnat_sdk.errors import XNATValidationError

if TYPE_CHECKING:
    from xnat_sdk.listings import Listing

__all__ = ["container_for", "create_in_parent"]

# (navigation base name, the parent's listing that holds it), most specific first
_CONTAINERS: tuple[tuple[str, str], ...] = (
    ("ProjectBase", "projects"),
    ("SubjectBase", "subjects"),
    ("ScanBase", "scans"),
    ("ReconstructionBase", "reconstructions"),
    ("ResourceBase", "resources"),
    ("AssessorBase", "assessors"),
    ("ExperimentBase", "experiments"),
)


def _collection_name(cls: type) -> str:
    names = {klass.__name__ for klass in cls.__mro__}
    for base, collection in _CONTAINERS:
        if base in names:
            return collection
    raise XNATValidationError(
        "parent", f"{cls.__name__} objects cannot be created on their own (not an archive type)"
    )


def container_for(cls: type, parent: Any) -> Listing[Any]:
    """The listing a new ``cls`` made with ``parent=`` goes into (checked)."""
    from xnat_sdk.listings import Listing
    from xnat_sdk.session import XNATSession

    if isinstance(parent, Listing):
        return parent
    collection = _collection_name(cls)
    if isinstance(parent, XNATSession):
        if collection != "projects":
            raise XNATValidationError(
                "parent", f"a {cls.__name__} goes into an object, not the session itself"
            )
        return parent.projects
    if not isinstance(parent, XNATObject):
        raise XNATValidationError(
            "parent", f"expected an archive object or a listing, got {type(parent).__name__}"
        )
    if collection == "assessors" and not hasattr(type(parent), "assessors"):
        collection = "experiments"  # an assessor of a subject (xnat:subjectAssessorData)
    if collection == "experiments" and type(parent).__name__ == "ProjectData":
        raise XNATValidationError(
            "parent", f"create a {cls.__name__} in a subject (parent=subject), not a project"
        )
    if not hasattr(type(parent), collection):
        raise XNATValidationError(
            "parent", f"a {type(parent).__name__} holds no {collection} (for a {cls.__name__})"
        )
    found: Listing[Any] = getattr(parent, collection)
    return found


def create_in_parent(obj: XNATObject, parent: Any) -> None:
    """Create ``obj`` (an unbound, just constructed instance) in ``parent`` on the server and
    bind ``obj`` itself to the new server object."""
    listing = container_for(type(obj), parent)
    created = listing.create(obj)
    obj._xnat_set_binding(
        created._xnat_session,
        created._xnat_uri,
        created._xnat_parent,
        created._xnat_xsi or type(created).__xsi_type__,
    )
    obj.clearcache()  # every field reads the server's value (ID, defaults) when first used
