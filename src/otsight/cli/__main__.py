"""``python -m otsight.cli``: the same as the ``otsight`` command."""

from .app import main

main()
