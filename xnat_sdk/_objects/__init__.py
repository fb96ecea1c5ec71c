"""The object layer: the object core, listings, navigation bases, the model registry,
generic fallbacks and the transfer capabilities of archive objects (see each module)."""
