"""``python -m nst_core``: see :mod:`nst_core.cli`."""

from .cli import run

run()
