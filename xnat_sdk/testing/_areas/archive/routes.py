"""The route table of the archive tree (each route also under ``/data/archive/...`` and
``/REST/...``):

* listings: ``/data/projects``, ``/data/subjects``, ``/data/projects/{P}/subjects``,
  ``/data/experiments``, ``/data/projects/{P}/experiments``,
  ``/data/projects/{P}/subjects/{S}/experiments``, ``{experiment}/scans``,
  ``{experiment}/assessors``, ``{experiment}/reconstructions``, ``/data/scanners``,
  ``/data/scan_types``, ``/data/projects/{P}/scan_types``;
* objects (GET ``format=json|xml``, PUT create/update, DELETE): ``/data/projects/{P}``,
  ``/data/projects/{P}/subjects/{S}``, ``/data/subjects/{S}``, experiments under a subject,
  a project or at top level, ``{experiment}/scans/{SC}``, ``{experiment}/reconstructions/{R}``,
  ``{experiment}/assessors/{A}``;
* sub-paths: ``.../projects`` (table), ``.../projects/{P2}`` (share PUT / unshare DELETE),
  ``.../status``; ``POST`` on the subject and experiment collections (§5.8).
"""

from __future__ import annotations

from xnat_sdk.testing._areas.archive.creation import (
    post_experiment,
    post_project,
    post_scan,
    post_subject,
)
from xnat_sdk.testing._areas.archive.experiment_listing import assessor_list, experiment_list
from xnat_sdk.testing._areas.archive.experiments import (
    experiment_delete,
    experiment_get,
    experiment_put,
)
from xnat_sdk.testing._areas.archive.paths import (
    EXPERIMENT_PREFIXES,
    PROJECT_PREFIX,
    SUBJECT_PREFIXES,
    TREE_EXPERIMENT_PREFIXES,
)
from xnat_sdk.testing._areas.archive.projects import (
    project_delete,
    project_get,
    project_list,
    project_put,
)
from xnat_sdk.testing._areas.archive.scans import (
    recon_delete,
    recon_get,
    recon_list,
    recon_put,
    scan_delete,
    scan_get,
    scan_list,
    scan_put,
    scan_types,
    scanners,
)
from xnat_sdk.testing._areas.archive.subjects import (
    subject_delete,
    subject_get,
    subject_list,
    subject_put,
)
from xnat_sdk.testing._server.routing import AuthMode, Router

__all__ = ["register"]


def register(router: Router) -> None:
    """Register the archive routes, then the POSTs that create objects in collections."""
    opt: AuthMode = "optional"
    router.add("GET", "/data/projects", project_list, archive=True, auth=opt)
    router.add("GET", PROJECT_PREFIX, project_get, archive=True, auth=opt, tail=True)
    router.add("PUT", PROJECT_PREFIX, project_put, archive=True, tail=True)
    router.add("DELETE", PROJECT_PREFIX, project_delete, archive=True, tail=True)

    router.add("GET", "/data/subjects", subject_list, archive=True, auth=opt)
    router.add("GET", PROJECT_PREFIX + "/subjects", subject_list, archive=True, auth=opt)
    for sp in SUBJECT_PREFIXES:
        router.add("GET", sp, subject_get, archive=True, auth=opt, tail=True)
        router.add("PUT", sp, subject_put, archive=True, tail=True)
        router.add("DELETE", sp, subject_delete, archive=True, tail=True)

    router.add("GET", "/data/experiments", experiment_list, archive=True, auth=opt)
    router.add("GET", PROJECT_PREFIX + "/experiments", experiment_list, archive=True, auth=opt)
    router.add("GET", SUBJECT_PREFIXES[0] + "/experiments", experiment_list, archive=True, auth=opt)
    for ep in EXPERIMENT_PREFIXES:
        router.add("GET", ep, experiment_get, archive=True, auth=opt, tail=True)
        router.add("PUT", ep, experiment_put, archive=True, tail=True)
        router.add("DELETE", ep, experiment_delete, archive=True, tail=True)
    for ep in TREE_EXPERIMENT_PREFIXES:
        router.add("GET", ep + "/scans", scan_list, archive=True, auth=opt)
        router.add("GET", ep + "/scans/{scan}", scan_get, archive=True, auth=opt, tail=True)
        router.add("PUT", ep + "/scans/{scan}", scan_put, archive=True, tail=True)
        router.add("DELETE", ep + "/scans/{scan}", scan_delete, archive=True)
        router.add("GET", ep + "/reconstructions", recon_list, archive=True, auth=opt)
        router.add("GET", ep + "/reconstructions/{recon}", recon_get, archive=True, auth=opt)
        router.add("PUT", ep + "/reconstructions/{recon}", recon_put, archive=True)
        router.add("DELETE", ep + "/reconstructions/{recon}", recon_delete, archive=True)
        router.add("GET", ep + "/assessors", assessor_list, archive=True, auth=opt)
        ap = ep + "/assessors/{assessor}"
        router.add("GET", ap, experiment_get, archive=True, auth=opt, tail=True)
        router.add("PUT", ap, experiment_put, archive=True, tail=True)
        router.add("DELETE", ap, experiment_delete, archive=True, tail=True)

    router.add("GET", "/data/scanners", scanners, archive=True, auth=opt)
    router.add("GET", "/data/scan_types", scan_types, archive=True, auth=opt)
    router.add("GET", PROJECT_PREFIX + "/scan_types", scan_types, archive=True, auth=opt)

    # POST on collections (spec §5.8)
    router.add("POST", "/data/projects", post_project, archive=True)
    router.add("POST", PROJECT_PREFIX + "/subjects", post_subject, archive=True)
    router.add("POST", PROJECT_PREFIX + "/experiments", post_experiment, archive=True)
    router.add("POST", SUBJECT_PREFIXES[0] + "/experiments", post_experiment, archive=True)
    for ep in TREE_EXPERIMENT_PREFIXES:
        router.add("POST", ep + "/scans", post_scan, archive=True)
