"""The inventory stage: facts and packets in, assets (with evidence) and change events out.

It is an :class:`~otsight.core.plugins.Observer`: every event is turned into facts
(:func:`otsight.inventory.facts.facts_of`) and folded into a :class:`Ledger`; every batch adds
address bindings; every ended flow adds answered ports and conversations. Assets are resolved
from that state on demand (:meth:`InventoryBuilder.assets`), at checkpoints in packet time (to
report changes while a live capture runs) and at the end.

A later stage that wants the events with activities of some categories (the store sink keeps
writes, program transfers and logins) asks with :meth:`InventoryBuilder.keep_notes` and reads the
builder's verdict on the event it just folded (:meth:`~InventoryBuilder.noted`,
:meth:`~InventoryBuilder.noted_in`) instead of computing the event's facts a second time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..core.events import BaseEvent, EventBatch
from ..core.types import mac_to_str
from ..decode.flows import FlowColumns
from ..decode.view import BatchView
from ..protocols.modbus.batch import ModbusBatch
from ..protocols.modbus.kernel import REQUEST
from .addresses import AddressBook
from .attributes import choose
from .changes import AssetChange, ChangeTracker
from .classify import classify
from .facts import facts_of
from .facts.modbus import CATEGORIES, fold_modbus
from .ledger import Conversation, Ledger
from .model import Activity, Asset, Evidence, Service
from .oui import OuiRegistry
from .profile import build_profiles
from .resolve import Resolution, resolve, tallies_by_asset

log = logging.getLogger(__name__)

OUI_RELIABILITY = 30  # the MAC's registry owner: often the NIC maker, not the device's


@dataclass(slots=True)
class InventoryConfig:
    checkpoint_s: float = 60.0  # resolve and report changes this often (packet time)
    silent_after_s: float = 600.0  # an asset quiet this long is reported silent


class InventoryBuilder:
    """Builds the asset inventory from everything the pipeline sees."""

    name = "inventory"

    def __init__(
        self, config: InventoryConfig | None = None, oui: OuiRegistry | None = None
    ) -> None:
        self.config = config or InventoryConfig()
        self.oui = oui
        self.book = AddressBook()
        self.ledger = Ledger()
        self.tracker = ChangeTracker(self.config.silent_after_s)
        self.now = 0.0
        self._next_checkpoint: float | None = None
        # (data version, assets, resolution, service names) of the last resolution
        self._cache: (
            tuple[int, list[Asset], Resolution, dict[tuple[str, str, int], str]] | None
        ) = None
        self._version = 0
        self.facts = 0
        # Events of note (keep_notes): the categories asked for, and the verdict on the event
        # (or columnar batch: its rows of note) folded last.
        self._note_categories: frozenset[str] = frozenset()
        self._judged: BaseEvent | None = None
        self._noteworthy = False
        self._judged_batch: tuple[ModbusBatch, npt.NDArray[np.int64]] | None = None

    # ------------------------------------------------------------------ Observer
    def on_event(self, event: BaseEvent) -> None:
        noteworthy = False
        for fact in facts_of(event):
            if isinstance(fact, Activity):
                self.ledger.act(fact)
                if fact.category in self._note_categories:
                    noteworthy = True
            else:
                self.ledger.observe(fact)
            self.facts += 1
        self._version += 1
        self._judged = event
        self._noteworthy = noteworthy

    def on_events(self, batch: EventBatch) -> None:
        """A columnar batch: Modbus polling is folded per (flow, direction, function) with
        numpy, the way its facts would fold one by one; other batches go event by event."""
        if isinstance(batch, ModbusBatch):
            fold_modbus(self.ledger, batch)
            self._version += 1
            if self._note_categories:
                self._judged_batch = (batch, self._modbus_rows_of_note(batch))
            return
        for event in batch.events():
            self.on_event(event)

    # ------------------------------------------------------------------ events of note
    def keep_notes(self, categories: frozenset[str]) -> None:
        """From now on, judge each event folded: has it an activity of one of ``categories``?

        One consumer's categories (a second call replaces them). The verdict concerns the event
        (or columnar batch) folded last only, so the consumer must be an observer after this
        builder (:meth:`noted` and :meth:`noted_in` say None for any other event)."""
        self._note_categories = frozenset(categories)
        self._judged = None
        self._judged_batch = None

    def noted(self, event: BaseEvent) -> bool | None:
        """Whether ``event`` has an activity of the categories given to :meth:`keep_notes`,
        if it is the event this builder folded last (else None: judge it yourself)."""
        if event is self._judged and self._note_categories:
            return self._noteworthy
        return None

    def noted_in(self, batch: EventBatch) -> Sequence[BaseEvent] | None:
        """The events of ``batch`` with an activity of the categories given to
        :meth:`keep_notes`, in order, if it is the columnar batch this builder folded last (else
        None: judge its events yourself)."""
        judged = self._judged_batch
        if judged is None or judged[0] is not batch or not self._note_categories:
            return None
        rows = judged[1]
        return batch.subset(rows).events() if rows.shape[0] else ()

    def _modbus_rows_of_note(self, batch: ModbusBatch) -> npt.NDArray[np.int64]:
        """Rows of the requests whose category (as :func:`fold_modbus` counts them) is of note.

        Responses of the batch path carry no facts, and its functions (FC 1-6, 15, 16) take
        none of the per-event refinements of FC 8, 43 and 90."""
        c = batch.columns
        requests = c["kind"] == REQUEST
        codes = np.unique(c["fc"][requests]).tolist()
        chosen = [fc for fc in codes if CATEGORIES.get(fc, "other") in self._note_categories]
        if not chosen:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(requests & np.isin(c["fc"], chosen)).astype(np.int64)

    def on_batch(self, view: BatchView) -> None:
        self.book.add(view)
        self._version += 1
        if len(view.batch):
            self.now = max(self.now, float(view.batch.ts_ns.max()) / 1e9)
        if self._next_checkpoint is None:
            self._next_checkpoint = self.now + self.config.checkpoint_s
        elif self.now >= self._next_checkpoint:
            self.checkpoint()
            self._next_checkpoint = self.now + self.config.checkpoint_s

    def on_flows(self, flows: FlowColumns) -> None:
        self.ledger.add_flows(flows)
        self._version += 1

    def finish(self) -> None:
        self.checkpoint()

    # ------------------------------------------------------------------ results
    def checkpoint(self) -> list[AssetChange]:
        """Resolve now and report what changed since the last checkpoint."""
        return self.tracker.update(self.assets(), self.now)

    @property
    def changes(self) -> list[AssetChange]:
        return self.tracker.changes

    @property
    def external_endpoints(self) -> int:
        self.assets()
        assert self._cache is not None
        return self._cache[2].external

    def conversations(self) -> list[Conversation]:
        return sorted(
            self.ledger.conversations.values(),
            key=lambda c: (c.first_ts, c.client, c.server, c.port),
        )

    def service_names(self) -> dict[tuple[str, str, int], str]:
        """(server IP, transport, port) -> the protocol the dissectors found there."""
        self.assets()  # the index is built (and cached) with the assets
        assert self._cache is not None
        return self._cache[3]

    def assets(self) -> list[Asset]:
        """The inventory as of the data seen so far (cached until new data arrives)."""
        if self._cache is not None and self._cache[0] == self._version:
            return self._cache[1]
        res = resolve(self.book, self.ledger)
        tallies = tallies_by_asset(self.ledger, res)
        assets: dict[str, Asset] = {}
        for aid, ident in res.identities.items():
            asset = Asset(
                asset_id=aid,
                macs=ident.macs,
                ips=ident.ips,
                is_router=ident.is_router,
                first_seen=ident.first_seen,
                last_seen=ident.last_seen,
                packets=ident.packets,
                bytes=ident.bytes,
            )
            chosen, multi, conflicts, evidence = choose(tallies.get(aid, []))
            self._apply(asset, chosen, multi, evidence)
            asset.conflicts = conflicts
            assets[aid] = asset
        # Link-layer traits (spanning tree, industrial ethertypes) of the MACs that are assets.
        stp: dict[str, int] = {}
        ethertypes: dict[str, frozenset[int]] = {}
        for m, p in self.book.macs.items():
            if p.stp or p.ethertypes:
                owner = res.by_mac.get(mac_to_str(m))
                if owner is not None:
                    if p.stp:
                        stp[owner] = p.stp
                    if p.ethertypes:
                        ethertypes[owner] = frozenset(p.ethertypes)
        profiles = build_profiles(self.ledger, res, stp, ethertypes)
        for aid, prof in profiles.items():
            a = assets[aid]
            prof.attributes = dict(a.attributes)
            for key in ("model", "firmware", "os", "device_name", "serial"):
                value = getattr(a, key)
                if value:
                    prof.attributes[key] = value
            prof.hostnames = a.hostnames
            prof.vendor = a.vendor
        by_ip, named = self._service_index()
        decisions = classify(profiles, {aid: a.first_seen for aid, a in assets.items()})
        for aid, decision in decisions.items():
            a = assets[aid]
            a.role = decision.role
            a.role_confidence = decision.confidence
            a.purdue_level = decision.purdue_level
            a.evidence = decision.evidence + a.evidence
            prof = profiles[aid]
            a.protocols = sorted(set(prof.serves) | set(prof.uses))
            a.peers = len(
                {peer for peers in prof.serves.values() for peer in peers}
                | {peer for peers in prof.uses.values() for peer in peers}
            )
            a.services = self._services(a, by_ip, named)
        ordered = sorted(assets.values(), key=_asset_order)
        self._cache = (self._version, ordered, res, named)
        return ordered

    # ------------------------------------------------------------------ helpers
    def _apply(
        self,
        asset: Asset,
        chosen: dict[str, str],
        multi: dict[str, list[str]],
        evidence: list[Evidence],
    ) -> None:
        asset.hostnames = multi.get("hostname", [])
        for key in ("model", "firmware", "serial", "device_name", "os"):
            value = chosen.pop(key, None)
            if value is not None:
                setattr(asset, key, value)
        vendor = chosen.pop("vendor", None)
        if vendor is None and self.oui is not None and asset.macs:
            found = self.oui.lookup(asset.macs[0])
            if found is not None:
                vendor = found.name
                evidence.append(
                    Evidence("vendor", f"MAC {asset.macs[0]} registered to {vendor}",
                             f"oui/{found.registry}", asset.first_seen, OUI_RELIABILITY / 100)
                )
        asset.vendor = vendor
        for key in ("ip", "mac"):
            chosen.pop(key, None)
        asset.attributes = dict(sorted(chosen.items()))
        for key in ("ja4", "dhcp_fingerprint"):
            if key in multi:
                asset.attributes[key] = ", ".join(multi[key])
        asset.evidence = evidence

    def _service_index(
        self,
    ) -> tuple[dict[str, list[tuple[str, int, int]]], dict[tuple[str, str, int], str]]:
        """Answered ports by server IP, and the protocol the dissectors named for each."""
        by_ip: dict[str, list[tuple[str, int, int]]] = {}
        for (server_ip, transport, port), pt in self.ledger.ports.items():
            by_ip.setdefault(server_ip, []).append((transport, port, len(pt.clients)))
        named: dict[tuple[str, str, int], str] = {}
        for (_client, server, protocol, _cat, _op), tally in self.ledger.activities.items():
            if server[0] == "ip" and tally.server_port:
                named.setdefault((server[1], tally.transport or "", tally.server_port), protocol)
        return by_ip, named

    @staticmethod
    def _services(
        asset: Asset,
        by_ip: dict[str, list[tuple[str, int, int]]],
        named: dict[tuple[str, str, int], str],
    ) -> list[Service]:
        out: dict[tuple[str, str, int], Service] = {}
        for ip in asset.ips:
            for transport, port, clients in by_ip.get(ip, ()):
                protocol = named.get((ip, transport, port), "unknown")
                key = (protocol, transport, port)
                svc = out.get(key)
                if svc is None:
                    svc = out[key] = Service(protocol, transport, port)
                svc.clients += clients
        return sorted(out.values(), key=lambda s: (s.transport, s.port, s.protocol))


def _asset_order(a: Asset) -> tuple[int, tuple[int, ...], str]:
    if a.ips and "." in a.ips[0]:
        return (0, tuple(int(x) for x in a.ips[0].split(".")), a.asset_id)
    return (1, (), a.asset_id)
