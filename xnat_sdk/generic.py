"""Model lookup by ``xsi:type`` and the generic objects used for types the models lack.

A site plugin can add data types the pinned schema does not have. Such objects are never a
crash: they become a generic object (with the behaviour of the base that fits the listing
they came from) exposing the raw ``data_fields`` as attributes and every REST verb. The
lookup lives in :mod:`xnat_sdk._objects.registry`, the classes in
:mod:`xnat_sdk._objects.navigation`.
"""

from xnat_sdk._objects.navigation import (
    GenericAssessor,
    GenericExperiment,
    GenericObject,
    GenericProject,
    GenericReconstruction,
    GenericResource,
    GenericScan,
    GenericSubject,
    object_at,
)
from xnat_sdk._objects.registry import class_for, model_class, register_models

__all__ = [
    "GenericAssessor",
    "GenericExperiment",
    "GenericObject",
    "GenericProject",
    "GenericReconstruction",
    "GenericResource",
    "GenericScan",
    "GenericSubject",
    "class_for",
    "model_class",
    "object_at",
    "register_models",
]
