"""The URL prefixes of archive objects (every route also exists under ``/data/archive``)."""

from __future__ import annotations

__all__ = ["EXPERIMENT_PREFIXES", "PROJECT_PREFIX", "SUBJECT_PREFIXES"]


PROJECT_PREFIX = "/data/projects/{project}"

SUBJECT_PREFIXES = [PROJECT_PREFIX + "/subjects/{subject}", "/data/subjects/{subject}"]

EXPERIMENT_PREFIXES = [
    PROJECT_PREFIX + "/subjects/{subject}/experiments/{experiment}",
    PROJECT_PREFIX + "/experiments/{experiment}",
    "/data/experiments/{experiment}",
]
