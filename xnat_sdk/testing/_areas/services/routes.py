"""The route table of the services (import, DICOM dump, catalog refresh)."""

from __future__ import annotations

from xnat_sdk.testing._areas.services.catalog_refresh import refresh_catalog
from xnat_sdk.testing._areas.services.dicomdump import dicomdump
from xnat_sdk.testing._areas.services.import_service import import_upload
from xnat_sdk.testing._server.routing import Router

__all__ = ["register"]


def register(router: Router) -> None:
    """Register the import and dicomdump services."""
    router.add("POST", "/data/services/import", import_upload)
    router.add("GET", "/data/services/dicomdump", dicomdump)
    router.add("POST", "/data/services/refresh/catalog", refresh_catalog)
