"""The store sink: what the pipeline found, written to the store in batches as it goes.

It is the last :class:`~otsight.core.plugins.Observer` of a pipeline. It reads the results of the
stages before it (the inventory's assets and conversations, the detection stage's alerts)
through the narrow callables it is given, never their internals, and hands them to a
:class:`BatchWriter`: assets and conversations at checkpoints in packet time (a sensor's store
fills while it runs) and at the end, alerts as they are raised, events of note as they pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..alerts.incidents import Incident
from ..alerts.model import Alert
from ..core.events import BaseEvent
from ..decode.flows import FlowColumns
from ..decode.view import BatchView
from ..inventory.builder import InventoryBuilder
from ..inventory.facts import facts_of
from ..inventory.model import Activity
from .batch import BatchFailed, BatchWriter
from .records import Conversation

log = logging.getLogger(__name__)

# Operations worth keeping one by one: what changes a process or a device, and logins.
NOTEWORTHY = frozenset({"write", "program", "firmware", "control", "configure", "login"})


class StoreSink:
    """Writes assets, conversations, alerts and events of note through ``writer``."""

    name = "store"

    def __init__(
        self,
        writer: BatchWriter,
        source: str,
        inventory: InventoryBuilder | None = None,
        alerts: Callable[[], list[Alert]] | None = None,
        incidents: Callable[[], list[Incident]] | None = None,
        checkpoint_s: float = 60.0,
    ) -> None:
        self.writer = writer
        self.source = source
        self.inventory = inventory
        self.alerts = alerts
        self.incidents = incidents
        self.checkpoint_s = checkpoint_s
        self.failed_batches = 0
        self._next: float | None = None
        self._now = 0.0
        self._notes: list[BaseEvent] = []

    # ------------------------------------------------------------------ Observer
    def on_event(self, event: BaseEvent) -> None:
        if event.action in ("malformed", "cleartext-credential") or any(
            isinstance(f, Activity) and f.category in NOTEWORTHY for f in facts_of(event)
        ):
            self._notes.append(event)

    def on_batch(self, view: BatchView) -> None:
        if not len(view.batch):
            return
        self._now = max(self._now, float(view.batch.ts_ns.max()) / 1e9)
        if self._next is None:
            self._next = self._now + self.checkpoint_s
        elif self._now >= self._next:
            self._next = self._now + self.checkpoint_s
            self.save()

    def on_flows(self, flows: FlowColumns) -> None:
        """Flows reach the store through the inventory's conversations."""

    def finish(self) -> None:
        self.save()

    # ------------------------------------------------------------------ writing
    def save(self) -> None:
        """Hand the current state to the writer and write it."""
        w = self.writer
        if self._notes:
            w.add_events(self._notes, source=self.source)
            self._notes = []
        if self.alerts is not None:
            w.add_alerts(self.alerts())
        if self.incidents is not None:
            w.add_incidents(self.incidents())
        if self.inventory is not None:
            w.add_assets(self.inventory.assets())
            w.add_conversations(self._conversations(self.inventory))
        try:
            w.flush()
        except BatchFailed as exc:
            self.failed_batches += 1
            log.error("store: %s", exc)

    def _conversations(self, inventory: InventoryBuilder) -> list[Conversation]:
        by_ip = {ip: a.asset_id for a in inventory.assets() for ip in a.ips}
        named = inventory.service_names()
        return [
            Conversation(
                client=c.client,
                server=c.server,
                protocol=named.get((c.server, c.transport, c.port), c.transport),
                transport=c.transport,
                port=c.port,
                packets=c.packets,
                bytes=c.bytes,
                first_seen=c.first_ts,
                last_seen=c.last_ts,
                flows=c.flows,
                client_asset_id=by_ip.get(c.client),
                server_asset_id=by_ip.get(c.server),
                source=self.source,
            )
            for c in inventory.conversations()
        ]
