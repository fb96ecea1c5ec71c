"""Server information: ``/``, version and build info, uptime, schema files (:mod:`.routes`)."""
