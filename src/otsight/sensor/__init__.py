"""Sensor mode: continuous live capture into the store, as a service (``otsight sensor``).

:mod:`.service` runs it, :mod:`.reader` captures on its own thread, :mod:`.counters` and
:mod:`.status` say how it keeps up. Nothing is imported here, so the CLI loads fast.
"""
