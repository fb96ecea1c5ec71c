"""The URL prefixes of archive objects (every route also exists under ``/data/archive``)."""

from __future__ import annotations

__all__ = [
    "EXPERIMENT_PREFIXES",
    "PROJECT_EXPERIMENT_PREFIX",
    "PROJECT_PREFIX",
    "SUBJECT_PREFIXES",
    "TREE_EXPERIMENT_PREFIXES",
]


PROJECT_PREFIX = "/data/projects/{project}"

SUBJECT_PREFIXES = [PROJECT_PREFIX + "/subjects/{subject}", "/data/subjects/{subject}"]

PROJECT_EXPERIMENT_PREFIX = PROJECT_PREFIX + "/experiments/{experiment}"

EXPERIMENT_PREFIXES = [
    PROJECT_PREFIX + "/subjects/{subject}/experiments/{experiment}",
    PROJECT_EXPERIMENT_PREFIX,
    "/data/experiments/{experiment}",
]

#: The experiment prefixes XNAT routes an experiment's tree under (scans, reconstructions,
#: assessors, ``/files``): ``XNATApplication.addRoutes`` has only the experiment, its
#: ``resources`` (with their files), ``DIR`` and ``XAR`` under
#: ``/projects/{PROJECT_ID}/experiments/{EXPT_ID}``; a longer path there reaches
#: ``ExperimentResource`` by Restlet's prefix matching (see ``experiments.experiment_get``).
TREE_EXPERIMENT_PREFIXES = [p for p in EXPERIMENT_PREFIXES if p != PROJECT_EXPERIMENT_PREFIX]
