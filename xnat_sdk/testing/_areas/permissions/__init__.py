"""Permissions: who may read or change what (:mod:`.access`), and the endpoints for logging
in and out, alias tokens and project membership (:mod:`.routes`)."""
