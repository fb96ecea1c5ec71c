"""xnatpy's module name for the exceptions: ``from xnat_sdk.exceptions import
XNATUploadError`` (was ``from xnat.exceptions import ...``) and ``xnat_sdk.exceptions.X``
name the classes of :mod:`xnat_sdk.errors`; the module *is* :mod:`xnat_sdk.errors` once
imported."""

from __future__ import annotations

import sys

from xnat_sdk import errors as _errors
from xnat_sdk.errors import *  # noqa: F403
from xnat_sdk.errors import __all__ as __all__

sys.modules[__name__] = _errors
