"""``python -m dc_lib``: the command line (see :mod:`dc_lib.cli`)."""

from .cli import main

raise SystemExit(main())
