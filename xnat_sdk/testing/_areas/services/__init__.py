"""The services: :mod:`.import_service` (``POST /data/services/import``), :mod:`.dicomdump`
(``GET /data/services/dicomdump``), :mod:`.catalog_refresh`
(``POST /data/services/refresh/catalog``); :mod:`.routes` is their route table."""
