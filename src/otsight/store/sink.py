"""The store sink: what the pipeline found, written to the store in batches as it goes.

It is the last :class:`~otsight.core.plugins.Observer` of a pipeline. It reads the results of the
stages before it (the inventory's assets and conversations, the detection stage's alerts)
through the narrow callables it is given, never their internals, and hands them to a
:class:`BatchWriter`: assets and conversations at checkpoints in packet time (a sensor's store
fills while it runs) and at the end, alerts as they are raised, events of note as they pass.

A live sensor wants alerts in the store within a second, not at the next checkpoint: it wires
:meth:`StoreSink.alert_raised` as the detection stage's ``on_alert`` and calls
:meth:`StoreSink.save_recent` between batches, which writes the new alerts (and the events of
note) without the cost of resolving the inventory.

Events of note are those with an activity of a :data:`NOTEWORTHY` category, plus malformed
messages and cleartext credentials. Wired with the inventory (as ``--db`` and the sensor wire
it, the inventory observing before the sink), the sink takes the inventory's verdict on each
event instead of computing the event's facts again; the facts are computed here only for an
event the inventory did not just fold (no inventory, or the sink observing before it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..alerts.incidents import Incident
from ..alerts.model import Alert
from ..core.events import BaseEvent, EventBatch
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
# Events kept whatever their facts say.
NOTEWORTHY_ACTIONS = frozenset({"malformed", "cleartext-credential"})


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
        self._raised: dict[str, Alert] = {}  # new alerts not yet written, by id
        if inventory is not None:
            inventory.keep_notes(NOTEWORTHY)

    # ------------------------------------------------------------------ Observer
    def on_event(self, event: BaseEvent) -> None:
        if event.action in NOTEWORTHY_ACTIONS:
            self._notes.append(event)
            return
        noted = self.inventory.noted(event) if self.inventory is not None else None
        if noted is None:  # not the event the inventory just folded: judge it here
            noted = any(
                isinstance(f, Activity) and f.category in NOTEWORTHY for f in facts_of(event)
            )
        if noted:
            self._notes.append(event)

    def on_events(self, batch: EventBatch) -> None:
        """A columnar batch (Modbus polling): its events of note as the inventory found them
        while folding it, without building the batch's other events; event by event when the
        inventory did not fold it (its events of the compiled path are well-formed requests and
        responses, never malformed nor credentials)."""
        notes = self.inventory.noted_in(batch) if self.inventory is not None else None
        if notes is None:
            for event in batch.events():
                self.on_event(event)
        else:
            self._notes.extend(notes)

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

    # ------------------------------------------------------------------ new alerts
    def alert_raised(self, alert: Alert) -> None:
        """Keep a newly raised alert for :meth:`save_recent` (a detection stage's ``on_alert``)."""
        self._raised[alert.alert_id] = alert

    @property
    def new_alerts(self) -> int:
        """Alerts raised since the last write."""
        return len(self._raised)

    def save_recent(self) -> None:
        """Write the alerts raised and the events of note kept since the last write, now.

        The alerts go as they were raised; repeats folded into them later, and incidents,
        reach the store at the next :meth:`save`, which writes every alert in its merged form.
        """
        notes, self._notes = self._notes, []
        raised, self._raised = self._raised, {}

        def hand_over(w: BatchWriter) -> None:
            if notes:
                w.add_events(notes, source=self.source)
            if raised:
                w.add_alerts(raised.values())

        self._write(hand_over)

    # ------------------------------------------------------------------ writing
    def save(self) -> None:
        """Hand the current state to the writer and write it."""
        notes, self._notes = self._notes, []
        raised, self._raised = self._raised, {}

        def hand_over(w: BatchWriter) -> None:
            if notes:
                w.add_events(notes, source=self.source)
            if self.alerts is not None:
                w.add_alerts(self.alerts())
            elif raised:
                w.add_alerts(raised.values())
            if self.incidents is not None:
                w.add_incidents(self.incidents())
            if self.inventory is not None:
                w.add_assets(self.inventory.assets())
                w.add_conversations(self._conversations(self.inventory))

        self._write(hand_over)

    def _write(self, hand_over: Callable[[BatchWriter], object]) -> None:
        """Hand records to the writer and flush; a failed batch (also one the writer flushed
        early because it was full or old) is counted and logged, never raised."""
        try:
            hand_over(self.writer)
            self.writer.flush()
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
