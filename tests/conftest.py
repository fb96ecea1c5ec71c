"""Settings for the whole suite."""

from hypothesis import settings

# A property test's examples share the cores with other tests (make test runs pytest on
# every core): a deadline per example would measure the machine's load, not the code.
# Speed is measured by the benchmarks (make bench).
settings.register_profile("xnat-sdk", deadline=None)
settings.load_profile("xnat-sdk")
