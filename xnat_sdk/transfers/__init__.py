"""The transfer engine: streamed downloads and uploads with progress, integrity checks and
safe file handling, over the session's verbs (``get``/``put``/``post``).

Downloads are streamed in chunks (constant memory) to a temporary name in the target
folder and renamed only when complete; the byte count is checked against Content-Length
and, when the server's file listing gives one, the MD5 ``digest``. A mismatch raises
:class:`~xnat_sdk.errors.XNATIntegrityError`, a dropped connection
:class:`~xnat_sdk.errors.XNATTransferError`, a local file-system failure (full disk, a file
where a folder must go) :class:`~xnat_sdk.errors.XNATLocalFileError` naming the path; either
way nothing is left behind. Temporary names carry the host and process (:func:`temp_name`),
so the next transfer into a folder removes what a killed process left there. Names from the
server (listings, zip entries, labels) never lead outside the target folder.

Uploads stream files and file objects; bodies that can be rewound (files, bytes) are
retried, a generator body never is. ``overwrite=False`` never replaces a remote file: the
server's ``{"duplicates": [...]}`` answer raises :class:`~xnat_sdk.errors.XNATFileExistsError`.

Remote paths are URL-encoded per segment (:func:`quote_path`).

One module per concern, each depending only on those listed before it (and on
:mod:`xnat_sdk.archives`, the safe-path rule and temporary names, below them all):

* ``_paths``: remote paths quoted and checked, local paths checked, local errors named,
  staging folders, publishing a complete temporary file;
* ``_wire``: streamed GETs, going on from a byte after a break-off, listing rows;
* ``_download``: :func:`download_stream` (resume, hashing, stall watchdog),
  :func:`download_file`;
* ``_upload``: :func:`upload` (bodies, retries, the retried-upload check);
* ``_stream``: :class:`RemoteStream`, a seekable file object over a remote file;
* ``_zipstream``: a zip read front to back while it streams in;
* ``_folders``: :func:`download_zip_dir` (read, check, publish), a local folder as a zip.

The archive objects get their transfer methods from the object layer,
:mod:`xnat_sdk._objects.transfers`, which calls these functions; the session calls them too.
"""

from __future__ import annotations

from xnat_sdk.archives import sweep_leftovers as sweep_leftovers
from xnat_sdk.archives import temp_beside as temp_beside
from xnat_sdk.archives import temp_name as temp_name
from xnat_sdk.archives import temp_owner as temp_owner
from xnat_sdk.transfers._download import _Hasher as _Hasher
from xnat_sdk.transfers._download import _socket_of as _socket_of
from xnat_sdk.transfers._download import _StallGuard as _StallGuard
from xnat_sdk.transfers._download import download_file, download_stream
from xnat_sdk.transfers._folders import download_zip_dir
from xnat_sdk.transfers._paths import check_remotepath as check_remotepath
from xnat_sdk.transfers._paths import local_folder as local_folder
from xnat_sdk.transfers._paths import local_path as local_path
from xnat_sdk.transfers._paths import quote_path, quote_uri
from xnat_sdk.transfers._stream import RemoteStream, download_chunks
from xnat_sdk.transfers._upload import UPLOAD_DIR_METHODS, upload
from xnat_sdk.transfers._upload import UploadSource as UploadSource
from xnat_sdk.transfers._wire import CHUNK_SIZE
from xnat_sdk.transfers._wire import RESUME_ATTEMPTS as RESUME_ATTEMPTS
from xnat_sdk.transfers._wire import _open_get as _open_get

__all__ = [
    "CHUNK_SIZE",
    "UPLOAD_DIR_METHODS",
    "RemoteStream",
    "download_chunks",
    "download_file",
    "download_stream",
    "download_zip_dir",
    "quote_path",
    "quote_uri",
    "upload",
]
