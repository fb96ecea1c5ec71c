"""Project archive settings: ``prearchive_code``, ``quarantine_code``, ``current_arc``
(:mod:`.routes`)."""
