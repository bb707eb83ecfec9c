"""Device programs run inside the lab namespaces: ``python -m otsight.lab.agents KIND SPEC``.

Each agent is a real protocol stack (pymodbus server or client) configured by one JSON spec.
Agents print ``READY`` on stdout once serving; the attacker prints one JSON line per step with
the ``time.time()`` taken right before and right after it.
"""

from __future__ import annotations

__all__: list[str] = []
