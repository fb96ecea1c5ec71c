"""``POST /data/search`` and stored searches: :mod:`.bundle` parses and evaluates
``xdat:bundle`` documents, :mod:`.query` answers them from the store, :mod:`.routes` has the
endpoints (and the stored searches' table)."""
