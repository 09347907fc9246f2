"""``python -m nst_core``: see :mod:`nst_core.cli`."""

import sys

from .cli import main

sys.exit(main())
