"""The ``xnat-sdk`` command line (on click): browse, download, upload, import, prearchive,
search and raw REST, plus ``generate`` (site models) and ``serve`` (the local server).

``main(argv) -> int`` is the console script's entry point. The commands live in
``_browse`` (ls, tree, users), ``_transfer`` (download, upload, import), ``_prearchive``,
``_search``, ``_rest``, ``_auth`` (login, logout, whoami) and ``_tools`` (generate, serve);
addresses in ``_addresses``, output formats in ``_output``, the root group in ``_app``.
"""

from __future__ import annotations

import sys

from xnat_sdk.cli._main import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
