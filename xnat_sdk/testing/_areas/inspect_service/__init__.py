"""Data-type introspection (what xnatpy's ``inspect`` reads): the display-field catalog
(:mod:`.display_fields`) and flat records of the store (:mod:`.records`), shared with
:mod:`xnat_sdk.testing._areas.search_service`; :mod:`.routes` has the endpoints."""
