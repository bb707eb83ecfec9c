"""Inventory change events: what changed about the plant's devices, and when (capture time)."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Asset

CHANGE_KINDS = (
    "new-asset",
    "new-ip",
    "new-hostname",
    "firmware-change",
    "role-change",
    "asset-silent",
)


@dataclass(frozen=True, slots=True)
class AssetChange:
    """One change; ``ts`` is the capture time of the evidence that revealed it."""

    ts: float
    asset_id: str
    kind: str  # one of CHANGE_KINDS
    old: str | None
    new: str | None
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {
            "ts": self.ts,
            "asset_id": self.asset_id,
            "kind": self.kind,
            "old": self.old,
            "new": self.new,
            "detail": self.detail,
        }


@dataclass(slots=True)
class _Seen:
    ips: set[str]
    hostnames: set[str]
    firmware: str | None
    role: str
    silent: bool


class ChangeTracker:
    """Compares successive snapshots of the inventory and reports what changed.

    The first snapshot reports every asset as new (a sensor starting on a plant discovers it);
    a role is reported as changed only once it was decided with some confidence, so early,
    thin evidence does not make noise.
    """

    ROLE_SETTLED = 0.5

    def __init__(self, silent_after_s: float) -> None:
        self.silent_after_s = silent_after_s
        self.changes: list[AssetChange] = []
        self._seen: dict[str, _Seen] = {}

    def update(self, assets: list[Asset], now: float) -> list[AssetChange]:
        out: list[AssetChange] = []
        for a in assets:
            prev = self._seen.get(a.asset_id)
            silent = now - a.last_seen > self.silent_after_s
            if prev is None:
                new = AssetChange(
                    a.first_seen, a.asset_id, "new-asset", None, _label(a), _describe(a)
                )
                out.append(new)
                self._seen[a.asset_id] = _Seen(
                    set(a.ips), set(a.hostnames), a.firmware, a.role, silent
                )
                if silent:  # came and went between two snapshots
                    out.append(self._silent(a))
                continue
            for ip in a.ips:
                if ip not in prev.ips:
                    out.append(
                        AssetChange(a.last_seen, a.asset_id, "new-ip", None, ip, f"now also {ip}")
                    )
                    prev.ips.add(ip)
            for name in a.hostnames:
                if name not in prev.hostnames:
                    out.append(
                        AssetChange(
                            a.last_seen, a.asset_id, "new-hostname", None, name, f"named {name}"
                        )
                    )
                    prev.hostnames.add(name)
            if a.firmware and prev.firmware and a.firmware != prev.firmware:
                out.append(
                    AssetChange(
                        _evidence_ts(a, "firmware", a.last_seen),
                        a.asset_id,
                        "firmware-change",
                        prev.firmware,
                        a.firmware,
                        f"firmware {prev.firmware} -> {a.firmware}",
                    )
                )
            if a.firmware:
                prev.firmware = a.firmware
            if a.role != prev.role and a.role_confidence >= self.ROLE_SETTLED:
                if prev.role != "unknown":
                    out.append(
                        AssetChange(
                            a.last_seen,
                            a.asset_id,
                            "role-change",
                            prev.role,
                            a.role,
                            f"role {prev.role} -> {a.role}",
                        )
                    )
                prev.role = a.role
            elif prev.role == "unknown" and a.role != "unknown":
                prev.role = a.role
            if silent and not prev.silent:
                out.append(self._silent(a))
            prev.silent = silent
        out.sort(key=lambda c: (c.ts, c.asset_id, c.kind))
        self.changes.extend(out)
        return out

    def _silent(self, a: Asset) -> AssetChange:
        return AssetChange(
            a.last_seen + self.silent_after_s,
            a.asset_id,
            "asset-silent",
            None,
            None,
            f"no traffic for {self.silent_after_s:.0f} s",
        )


def _label(a: Asset) -> str:
    return a.ips[0] if a.ips else a.macs[0] if a.macs else a.asset_id


def _describe(a: Asset) -> str:
    parts = [p for p in (a.vendor, a.model) if p]
    return "new device " + _label(a) + (f" ({' '.join(parts)})" if parts else "")


def _evidence_ts(a: Asset, claim: str, default: float) -> float:
    """When the chosen value of ``claim`` was first seen (the moment of a change)."""
    for e in a.evidence:
        if e.claim == claim:
            return e.ts
    return default
