"""xnat-sdk: a fully typed Python SDK for XNAT.

Importing this package is cheap: requests, rich, pydicom and the generated models load only
when first used (the public names below are resolved lazily, PEP 562).

    >>> import xnat_sdk
    >>> with xnat_sdk.connect("https://xnat.example.org", user="me") as session:
    ...     project = session.projects["P"]
    ...     for subject in project.subjects:
    ...         print(subject.label)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from xnat_sdk import errors as exceptions
    from xnat_sdk import inspection as inspect
    from xnat_sdk import mapping as map
    from xnat_sdk import plugins, prearchive, search, services, session, users
    from xnat_sdk.auth import Credentials
    from xnat_sdk.bases import CustomVariables, XNATObject
    from xnat_sdk.connection import connect
    from xnat_sdk.errors import (
        XNATAuthError,
        XNATBadRequestError,
        XNATCaseCollisionError,
        XNATColumnError,
        XNATConflictError,
        XNATConnectionError,
        XNATDanglingLinkError,
        XNATError,
        XNATExpiredCredentialsError,
        XNATFileExistsError,
        XNATFileNotFoundError,
        XNATForbiddenError,
        XNATIncompleteDownloadError,
        XNATIndexError,
        XNATInsecureWarning,
        XNATIntegrityError,
        XNATIOError,
        XNATIsADirectoryError,
        XNATKeyError,
        XNATLinkLoopWarning,
        XNATLinkOutsideError,
        XNATLocalFileError,
        XNATLocalPathError,
        XNATLoginFailedError,
        XNATMapError,
        XNATMappingException,
        XNATMapTimeoutError,
        XNATMapTokenError,
        XNATNoModelError,
        XNATNoPasswordError,
        XNATNotADirectoryError,
        XNATNotConnectedError,
        XNATNotFoundError,
        XNATNotPicklableError,
        XNATNotSharedError,
        XNATObjectAlreadyExistsError,
        XNATObjectDestroyedError,
        XNATPlainHTTPWarning,
        XNATRedirectError,
        XNATResponseError,
        XNATServerError,
        XNATSeveralSessionsWarning,
        XNATSkippedFilesWarning,
        XNATSSLError,
        XNATTimeoutError,
        XNATTokenWarning,
        XNATTransferError,
        XNATTypeMismatchError,
        XNATUnknownTypeWarning,
        XNATUnsafeArchiveError,
        XNATUploadAuthError,
        XNATUploadBadRequestError,
        XNATUploadConflictError,
        XNATUploadError,
        XNATUploadFileExistsError,
        XNATUploadForbiddenError,
        XNATUploadNotFoundError,
        XNATUploadResponseError,
        XNATUploadServerError,
        XNATValidationError,
        XNATValueError,
    )
    from xnat_sdk.generic import register_models
    from xnat_sdk.listings import Listing, RemoteFile
    from xnat_sdk.mapping import FilterFunctions, MappedFunctionFailed, MappingLevel
    from xnat_sdk.session import XNATSession
    from xnat_sdk.tables import Row, Table

_MODULES: dict[str, str] = {
    # xnatpy's module names, reachable as attributes after `import xnat_sdk as xnat`
    "exceptions": "xnat_sdk.errors",  # except xnat.exceptions.XNATResponseError
    "search": "xnat_sdk.search",  # xnat.search.and_ / or_
    "map": "xnat_sdk.mapping",  # xnat.map.MappingLevel
    "inspect": "xnat_sdk.inspection",
    "plugins": "xnat_sdk.plugins",
    "prearchive": "xnat_sdk.prearchive",
    "services": "xnat_sdk.services",
    "session": "xnat_sdk.session",
    "users": "xnat_sdk.users",
}

_LAZY: dict[str, str] = {
    "connect": "xnat_sdk.connection",
    "FilterFunctions": "xnat_sdk.mapping",
    "MappedFunctionFailed": "xnat_sdk.mapping",
    "MappingLevel": "xnat_sdk.mapping",
    "register_models": "xnat_sdk.generic",
    "XNATSession": "xnat_sdk.session",
    "Listing": "xnat_sdk.listings",
    "Row": "xnat_sdk.tables",
    "Table": "xnat_sdk.tables",
    "RemoteFile": "xnat_sdk.listings",
    "XNATObject": "xnat_sdk.bases",
    "CustomVariables": "xnat_sdk.bases",
    "Credentials": "xnat_sdk.auth",
    "XNATAuthError": "xnat_sdk.errors",
    "XNATConflictError": "xnat_sdk.errors",
    "XNATConnectionError": "xnat_sdk.errors",
    "XNATError": "xnat_sdk.errors",
    "XNATForbiddenError": "xnat_sdk.errors",
    "XNATInsecureWarning": "xnat_sdk.errors",
    "XNATKeyError": "xnat_sdk.errors",
    "XNATIndexError": "xnat_sdk.errors",
    "XNATTypeMismatchError": "xnat_sdk.errors",
    "XNATLoginFailedError": "xnat_sdk.errors",
    "XNATNoModelError": "xnat_sdk.errors",
    "XNATNotConnectedError": "xnat_sdk.errors",
    "XNATNotFoundError": "xnat_sdk.errors",
    "XNATNotSharedError": "xnat_sdk.errors",
    "XNATResponseError": "xnat_sdk.errors",
    "XNATServerError": "xnat_sdk.errors",
    "XNATSSLError": "xnat_sdk.errors",
    "XNATUnknownTypeWarning": "xnat_sdk.errors",
    "XNATValidationError": "xnat_sdk.errors",
    "XNATValueError": "xnat_sdk.errors",
    "XNATCaseCollisionError": "xnat_sdk.errors",
    "XNATColumnError": "xnat_sdk.errors",
    "XNATFileExistsError": "xnat_sdk.errors",
    "XNATIntegrityError": "xnat_sdk.errors",
    "XNATTransferError": "xnat_sdk.errors",
    "XNATUnsafeArchiveError": "xnat_sdk.errors",
    "XNATLinkOutsideError": "xnat_sdk.errors",
    "XNATLinkLoopWarning": "xnat_sdk.errors",
    "XNATSkippedFilesWarning": "xnat_sdk.errors",
    "XNATSeveralSessionsWarning": "xnat_sdk.errors",
    "XNATDanglingLinkError": "xnat_sdk.errors",
    "XNATLocalFileError": "xnat_sdk.errors",
    "XNATTimeoutError": "xnat_sdk.errors",
    "XNATMapError": "xnat_sdk.errors",
    "XNATMapTimeoutError": "xnat_sdk.errors",
    "XNATMapTokenError": "xnat_sdk.errors",
    "XNATNoPasswordError": "xnat_sdk.errors",
    "XNATNotPicklableError": "xnat_sdk.errors",
    "XNATBadRequestError": "xnat_sdk.errors",
    "XNATExpiredCredentialsError": "xnat_sdk.errors",
    "XNATFileNotFoundError": "xnat_sdk.errors",
    "XNATIOError": "xnat_sdk.errors",
    "XNATIncompleteDownloadError": "xnat_sdk.errors",
    "XNATIsADirectoryError": "xnat_sdk.errors",
    "XNATLocalPathError": "xnat_sdk.errors",
    "XNATMappingException": "xnat_sdk.errors",
    "XNATNotADirectoryError": "xnat_sdk.errors",
    "XNATObjectAlreadyExistsError": "xnat_sdk.errors",
    "XNATObjectDestroyedError": "xnat_sdk.errors",
    "XNATPlainHTTPWarning": "xnat_sdk.errors",
    "XNATRedirectError": "xnat_sdk.errors",
    "XNATTokenWarning": "xnat_sdk.errors",
    "XNATUploadAuthError": "xnat_sdk.errors",
    "XNATUploadBadRequestError": "xnat_sdk.errors",
    "XNATUploadConflictError": "xnat_sdk.errors",
    "XNATUploadError": "xnat_sdk.errors",
    "XNATUploadFileExistsError": "xnat_sdk.errors",
    "XNATUploadForbiddenError": "xnat_sdk.errors",
    "XNATUploadNotFoundError": "xnat_sdk.errors",
    "XNATUploadResponseError": "xnat_sdk.errors",
    "XNATUploadServerError": "xnat_sdk.errors",
}

__all__ = [
    "Credentials",
    "CustomVariables",
    "FilterFunctions",
    "Listing",
    "MappedFunctionFailed",
    "MappingLevel",
    "RemoteFile",
    "Row",
    "Table",
    "XNATAuthError",
    "XNATBadRequestError",
    "XNATCaseCollisionError",
    "XNATColumnError",
    "XNATConflictError",
    "XNATConnectionError",
    "XNATDanglingLinkError",
    "XNATError",
    "XNATExpiredCredentialsError",
    "XNATFileExistsError",
    "XNATFileNotFoundError",
    "XNATForbiddenError",
    "XNATIOError",
    "XNATIncompleteDownloadError",
    "XNATIndexError",
    "XNATInsecureWarning",
    "XNATIntegrityError",
    "XNATIsADirectoryError",
    "XNATKeyError",
    "XNATLinkLoopWarning",
    "XNATLinkOutsideError",
    "XNATLocalFileError",
    "XNATLocalPathError",
    "XNATLoginFailedError",
    "XNATMapError",
    "XNATMapTimeoutError",
    "XNATMapTokenError",
    "XNATMappingException",
    "XNATNoModelError",
    "XNATNoPasswordError",
    "XNATNotADirectoryError",
    "XNATNotConnectedError",
    "XNATNotFoundError",
    "XNATNotPicklableError",
    "XNATNotSharedError",
    "XNATObject",
    "XNATObjectAlreadyExistsError",
    "XNATObjectDestroyedError",
    "XNATPlainHTTPWarning",
    "XNATRedirectError",
    "XNATResponseError",
    "XNATSSLError",
    "XNATServerError",
    "XNATSession",
    "XNATSeveralSessionsWarning",
    "XNATSkippedFilesWarning",
    "XNATTimeoutError",
    "XNATTokenWarning",
    "XNATTransferError",
    "XNATTypeMismatchError",
    "XNATUnknownTypeWarning",
    "XNATUnsafeArchiveError",
    "XNATUploadAuthError",
    "XNATUploadBadRequestError",
    "XNATUploadConflictError",
    "XNATUploadError",
    "XNATUploadFileExistsError",
    "XNATUploadForbiddenError",
    "XNATUploadNotFoundError",
    "XNATUploadResponseError",
    "XNATUploadServerError",
    "XNATValidationError",
    "XNATValueError",
    "__version__",
    "connect",
    "exceptions",
    "inspect",
    "map",
    "plugins",
    "prearchive",
    "register_models",
    "search",
    "services",
    "session",
    "users",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        found = importlib.import_module(_MODULES[name])
        globals()[name] = found
        return found
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xnat_sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_MODULES))
