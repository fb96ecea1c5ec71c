"""The hand-written bases the generated models (``xnat_sdk.models``) inherit, by their public
names: the object core (:mod:`xnat_sdk._objects.core`: binding, lazy loading, writes, with
the contract the generator keeps), custom variables and the navigation bases
(:mod:`xnat_sdk._objects.navigation`). The generator's binding table names this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xnat_sdk._objects.core import (
    NAVIGATION_NAMES,
    RESERVED_NAMES,
    XNATObject,
    child_items,
    refuse_existing,
)
from xnat_sdk._objects.navigation import (
    AssessorBase,
    DerivedDataBase,
    ExperimentBase,
    ImageSessionBase,
    ProjectBase,
    ReconstructionBase,
    ResourceBase,
    ScanBase,
    SubjectAssessorBase,
    SubjectBase,
)
from xnat_sdk._objects.registry import warn_unknown_type

if TYPE_CHECKING:
    from xnat_sdk._objects.custom import CustomVariables, VariableValue

__all__ = [
    "NAVIGATION_NAMES",
    "RESERVED_NAMES",
    "AssessorBase",
    "CustomVariables",
    "DerivedDataBase",
    "ExperimentBase",
    "ImageSessionBase",
    "ProjectBase",
    "ReconstructionBase",
    "ResourceBase",
    "ScanBase",
    "SubjectAssessorBase",
    "SubjectBase",
    "VariableValue",
    "XNATObject",
    "child_items",
    "refuse_existing",
    "warn_unknown_type",
]


def __getattr__(name: str) -> Any:
    if name in ("CustomVariables", "VariableValue"):  # loaded when first asked for
        from xnat_sdk._objects import custom

        return getattr(custom, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
