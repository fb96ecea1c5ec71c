"""``python -m xnat_sdk.cli``: the ``xnat-sdk`` command."""

import sys

from xnat_sdk.cli._main import main

sys.exit(main())
