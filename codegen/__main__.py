"""``python -m codegen``: run the generator from a checkout (see xnat_sdk_codegen.cli)."""

from xnat_sdk_codegen.cli import main

raise SystemExit(main())
