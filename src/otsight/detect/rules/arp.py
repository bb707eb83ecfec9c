"""ARP rules: spoofing (adversary in the middle), duplicate IP addresses, binding flip-flops.

Every ARP message's sender fields are a claim "IP x is at MAC m". An IP is owned by the first MAC
that claimed it; the owner stays the owner while it keeps appearing (its own ARP, or IPv4 packets
it sends with that address, read vectorised from the batch columns) within ``owner_ttl_s``. A
claim by another MAC while the owner is alive is:

- ``arp-spoofing`` when the claiming MAC also holds an address of its own, or claims addresses of
  two or more other hosts: the pattern of ARP-poisoning tools (T0830);
- ``duplicate-ip`` otherwise: two devices configured with one address (or a spoofer whose own
  address is not known yet);
- and ``mac-flapping`` when the IP's claims alternate between MACs ``flap_count`` times within
  ``flap_window_s`` (a fight over the address, whoever started it).

The owner reclaiming its address (a restore) is never an alert. Known limit: high-availability
pairs that move a service address between nodes look like spoofing (list them in
``ignore_ips``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from ...alerts.factory import new_alert
from ...alerts.model import Alert
from ...core.events import BaseEvent
from ...core.types import mac_to_str
from ...decode.table import L3_IPV4
from ...decode.view import BatchView
from ...protocols.arp.dissector import ArpMessage
from ..alerting import evidence_of
from ..base import Detector, DetectorOptions
from ..keyindex import KeyIndex

V4MAPPED = np.uint64(0xFFFF_0000_0000)
ZERO_MAC = "00:00:00:00:00:00"
MAX_INDEXED = 2048  # bound addresses looked up by hash; more are found by sorting the batch


class ArpOptions(DetectorOptions):
    owner_ttl_s: float = Field(
        default=3600.0, gt=0, description="an owner unseen this long gives its address up"
    )
    claim_ttl_s: float = Field(
        default=600.0, gt=0, description="how long a MAC's claims count towards 'many IPs'"
    )
    flap_window_s: float = Field(default=60.0, gt=0)
    flap_count: int = Field(default=6, ge=2, description="owner changes within the window")
    ignore_ips: frozenset[str] = Field(
        default=frozenset(), description="shared service addresses (VRRP/HSRP/cluster)"
    )
    max_ips: int = Field(default=200_000, ge=1, description="memory bound")


class _Binding:
    __slots__ = ("claimer", "flips", "owner", "owner_seen")

    def __init__(self, owner: str, ts: float) -> None:
        self.owner = owner
        self.owner_seen = ts
        self.claimer = owner  # the MAC of the latest claim
        self.flips: deque[float] = deque()


class _Owners:
    """The bound addresses as columns, for finding the packets their owners send: a perfect
    hash of the IPv4 addresses (:class:`KeyIndex`) and, by its codes, each owner's MAC and
    binding. Built again only when an address is bound or changes owner."""

    __slots__ = ("bindings", "index", "macs")

    def __init__(self, index: KeyIndex, macs: npt.NDArray[np.int64], bindings: list[_Binding]):
        self.index, self.macs, self.bindings = index, macs, bindings

    @classmethod
    def build(cls, ips: dict[str, _Binding]) -> _Owners | None:
        """None when there are too many addresses, or no perfect hash of them was found."""
        if len(ips) > MAX_INDEXED:
            return None
        entries: list[tuple[int, int, _Binding]] = []
        for ip, binding in ips.items():
            address, mac = _v4_number(ip), _mac_number(binding.owner)
            if address is not None and mac is not None:  # else no packet can match it
                entries.append((address, mac, binding))
        entries.sort(key=lambda entry: entry[0])  # the index codes addresses in their order
        index = KeyIndex(1, max_keys=MAX_INDEXED)
        addresses = np.array([entry[0] for entry in entries], dtype=np.uint64)
        if entries and not index.add([addresses], np.arange(len(entries), dtype=np.intp)):
            return None
        macs = np.array([entry[1] for entry in entries], dtype=np.int64)
        return cls(index, macs, [entry[2] for entry in entries])


def _v4_number(ip: str) -> int | None:
    """``a.b.c.d`` as a number, if written as packets' addresses are named here."""
    try:
        a, b, c, d = (int(part) for part in ip.split("."))
    except ValueError:
        return None
    if not all(0 <= x <= 255 for x in (a, b, c, d)) or f"{a}.{b}.{c}.{d}" != ip:
        return None
    return a << 24 | b << 16 | c << 8 | d


def _mac_number(mac: str) -> int | None:
    """A MAC as the number the packet columns hold, if written as :func:`mac_to_str` does."""
    try:
        number = int(mac.replace(":", ""), 16)
        return number if mac_to_str(number) == mac else None
    except (ValueError, OverflowError):
        return None


class ArpSpoofDetector(Detector[ArpOptions]):
    """ARP spoofing, duplicate IP addresses and flip-flopping bindings."""

    name: ClassVar[str] = "arp"
    description: ClassVar[str] = "ARP spoofing, duplicate IP addresses, MAC flapping"
    Options = ArpOptions
    event_types = (ArpMessage,)
    wants_batches = True

    def __init__(self, options: ArpOptions | None = None) -> None:
        super().__init__(options)
        self._ips: dict[str, _Binding] = {}
        self._owned: dict[str, dict[str, float]] = {}  # MAC -> its own IPs, last seen
        self._foreign: dict[str, dict[str, float]] = {}  # MAC -> others' IPs it claimed
        self._deferred: list[ArpMessage] = []
        self._owners: _Owners | None = None  # None: sort the batch instead
        self._owners_built = False  # False: bindings changed since it was built
        self.dropped = 0

    # ------------------------------------------------------------------ events
    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        if not isinstance(event, ArpMessage) or event.probe:
            return ()
        return self._claim(event, final=False)

    def _claim(self, event: ArpMessage, final: bool) -> list[Alert]:
        """One claim. A claim against an owner not seen for ``owner_ttl_s`` waits for the end
        of its batch (``final``): the owner's IP packets of the same batch may prove it alive."""
        ip, mac, ts = event.sender_ip, event.sender_mac, event.ts
        if ip == "0.0.0.0" or mac == ZERO_MAC or ip in self.options.ignore_ips:
            return []
        binding = self._ips.get(ip)
        if binding is None:
            if len(self._ips) >= self.options.max_ips:
                self.dropped += 1
                return []
            self._ips[ip] = _Binding(mac, ts)
            self._owned.setdefault(mac, {})[ip] = ts
            self._owners_built = False
            return []
        if mac == binding.owner:
            binding.owner_seen = max(binding.owner_seen, ts)
            self._owned.setdefault(mac, {})[ip] = ts
            binding.claimer = mac
            return []
        if ts - binding.owner_seen > self.options.owner_ttl_s:
            if not final:
                self._deferred.append(event)
                return []
            self._transfer(ip, binding, mac, ts)  # the old device is gone: no conflict
            return []
        return self._conflict(event, ip, mac, binding)

    def _transfer(self, ip: str, binding: _Binding, mac: str, ts: float) -> None:
        self._owned.get(binding.owner, {}).pop(ip, None)
        binding.owner, binding.owner_seen, binding.claimer = mac, ts, mac
        binding.flips.clear()
        self._owners_built = False
        self._owned.setdefault(mac, {})[ip] = ts

    def _conflict(self, event: ArpMessage, ip: str, mac: str, binding: _Binding) -> list[Alert]:
        ts, opts = event.ts, self.options
        foreign = self._foreign.setdefault(mac, {})
        foreign[ip] = ts
        for other, seen in list(foreign.items()):
            if ts - seen > opts.claim_ttl_s:
                del foreign[other]
        own = [
            other for other, seen in self._owned.get(mac, {}).items()
            if other != ip and ts - seen <= opts.owner_ttl_s
        ]
        alerts: list[Alert] = []
        if own or len(foreign) >= 2:
            alerts.append(self._spoofing(event, ip, mac, binding.owner, own, sorted(foreign)))
        else:
            alerts.append(self._duplicate(event, ip, mac, binding.owner))
        if binding.claimer != mac:
            binding.flips.append(ts)
            while binding.flips and ts - binding.flips[0] > opts.flap_window_s:
                binding.flips.popleft()
            if len(binding.flips) >= opts.flap_count:
                alerts.append(self._flapping(event, ip, mac, binding))
                binding.flips.clear()
        binding.claimer = mac
        return alerts

    # ------------------------------------------------------------------ batches
    def on_batch(self, view: BatchView) -> Iterable[Alert]:
        """Refresh owners from the IPv4 packets they send, then settle the deferred claims."""
        if self._ips:
            self._refresh(view)
        return self.finish()

    def finish(self) -> Iterable[Alert]:
        deferred, self._deferred = self._deferred, []
        return [alert for event in deferred for alert in self._claim(event, final=True)]

    def _refresh(self, view: BatchView) -> None:
        """Each bound address whose owner sent IPv4 packets from it in the batch is seen at the
        latest of them: packets are matched to addresses through the owners' hash index
        (vectorised, no sort); one Python step per address seen."""
        t = view.table
        sel = (t.l3 == L3_IPV4) & (t.err == 0)
        if not sel.any():
            return
        if not self._owners_built:
            self._owners, self._owners_built = _Owners.build(self._ips), True
        owners = self._owners
        if owners is None:
            self._refresh_sorted(view, sel)
            return
        if not owners.bindings:
            return
        codes, found = owners.index.find([t.src_lo & np.uint64(0xFFFF_FFFF)])
        found &= sel
        found &= owners.macs[codes] == t.src_mac
        rows = np.flatnonzero(found)
        if not rows.shape[0]:
            return
        codes = codes[rows]
        seen = np.zeros(len(owners.bindings), np.bool_)
        seen[codes] = True
        latest = np.full(len(owners.bindings), np.iinfo(np.int64).min, np.int64)
        np.maximum.at(latest, codes, view.batch.ts_ns[rows])
        for code, ts_ns in zip(np.flatnonzero(seen).tolist(), latest[seen].tolist(),
                               strict=True):
            binding = owners.bindings[code]
            binding.owner_seen = max(binding.owner_seen, ts_ns / 1e9)

    def _refresh_sorted(self, view: BatchView, sel: npt.NDArray[np.bool_]) -> None:
        """:meth:`_refresh` by sorting the batch's (source IP, source MAC) pairs: one Python
        step per distinct pair; only addresses ARP has bound are looked at."""
        t = view.table
        pairs = np.stack([t.src_lo[sel], t.src_mac[sel].astype(np.uint64)], axis=1)
        last_ts = view.batch.ts_ns[sel]
        order = np.lexsort((last_ts, pairs[:, 1], pairs[:, 0]))
        pairs, last_ts = pairs[order], last_ts[order]
        change = np.ones(len(pairs), dtype=bool)
        change[:-1] = np.any(pairs[1:] != pairs[:-1], axis=1)  # last row of each pair
        for lo, mac_int, ts_ns in zip(
            pairs[change, 0].tolist(), pairs[change, 1].tolist(), last_ts[change].tolist(),
            strict=True,
        ):
            v4 = int(lo) & 0xFFFF_FFFF
            ip = f"{v4 >> 24}.{(v4 >> 16) & 255}.{(v4 >> 8) & 255}.{v4 & 255}"
            binding = self._ips.get(ip)
            if binding is not None and binding.owner == mac_to_str(int(mac_int)):
                binding.owner_seen = max(binding.owner_seen, ts_ns / 1e9)

    # ------------------------------------------------------------------ alerts
    def _spoofing(
        self, event: ArpMessage, ip: str, mac: str, owner: str, own: list[str],
        foreign: list[str],
    ) -> Alert:
        holder = f" (its own address: {', '.join(sorted(own))})" if own else ""
        return self._alert(
            "arp-spoofing", event, (own[0] if own else None, ip, mac, owner), severity="high",
            title=f"ARP spoofing: {mac} claims {ip}, which is {owner}'s",
            explanation=(
                f"{mac}{holder} sent ARP {event.operation} messages claiming {ip}"
                + (f" and {len(foreign) - 1} other hosts' addresses" if len(foreign) > 1 else "")
                + f", while {owner} still uses it: hosts that believe it send their traffic for "
                f"{ip} to {mac}, which can read and change it (adversary in the middle)."
            ),
            detail=f"{ip} is-at {mac}; owner {owner}",
        )

    def _duplicate(self, event: ArpMessage, ip: str, mac: str, owner: str) -> Alert:
        return self._alert(
            "duplicate-ip", event, (None, ip, mac, owner), severity="medium",
            title=f"Duplicate IP address {ip}: {mac} and {owner}",
            explanation=(
                f"{mac} claims {ip} ({event.operation}) while {owner} uses it: a "
                "misconfigured device, or the start of ARP spoofing; either way traffic for "
                f"{ip} may reach the wrong device."
            ),
            detail=f"{ip} is-at {mac}; owner {owner}",
        )

    def _flapping(self, event: ArpMessage, ip: str, mac: str, binding: _Binding) -> Alert:
        return self._alert(
            "mac-flapping", event, (None, ip, mac, binding.owner), severity="medium",
            title=f"MAC flapping on {ip}: {len(binding.flips)} changes within "
            f"{self.options.flap_window_s:.0f} s",
            explanation=(
                f"The MAC address answering for {ip} changed {len(binding.flips)} times within "
                f"{self.options.flap_window_s:.0f} s (owner {binding.owner}, latest {mac}): two "
                "devices fight over the address, as during ARP spoofing."
            ),
            detail=f"{ip}: {binding.owner} <-> {mac}",
        )

    def _alert(
        self,
        kind: str,
        event: ArpMessage,
        endpoints: tuple[str | None, str, str, str],
        *,
        severity: str,
        title: str,
        explanation: str,
        detail: str,
    ) -> Alert:
        """Source = the claimer (its own IP when known), destination = the address and its
        owner."""
        src_ip, dst_ip, src_mac, dst_mac = endpoints
        return new_alert(
            detector=self.name, kind=kind, severity=severity, title=title,
            explanation=explanation, technique_id="T0830", ts=event.ts, frame=event.frame,
            src_ip=src_ip, dst_ip=dst_ip, src_mac=src_mac, dst_mac=dst_mac, protocol="arp",
            evidence=(evidence_of(event, detail),),
        )
