"""Score an inventory against a lab truth file: roles, identity strings, split and merged assets.

- Matching: a truth device matches the assets that hold any of its MACs or IPs. One asset per
  device is right; two or more is a *split*; one asset holding two devices' addresses is a
  *merge*. Devices with no asset are *missed*.
- Roles: accuracy and macro-F1 over the roles present in the truth (the attacker's laptop is
  scored like any other device: it is a workstation).
- Identity: for every string the truth says the device puts on the wire (``reveals``), the
  asset's chosen value must be equal (case and spacing ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import Asset

IDENTITY_FIELDS = ("vendor", "model", "firmware", "serial", "device_name", "hostname")


@dataclass(slots=True)
class DeviceScore:
    name: str
    truth_role: str
    asset_ids: list[str]
    role: str | None
    purdue_truth: float | None
    purdue: int | None
    attacker: bool = False
    identity: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # want, got


@dataclass(slots=True)
class InventoryScore:
    devices: list[DeviceScore]
    merged: list[str]  # asset ids holding several truth devices
    unexpected: list[str]  # assets matching no truth device

    @property
    def split(self) -> list[str]:
        return [d.name for d in self.devices if len(d.asset_ids) > 1]

    @property
    def missed(self) -> list[str]:
        return [d.name for d in self.devices if not d.asset_ids]

    @property
    def role_accuracy(self) -> float:
        if not self.devices:
            return 0.0
        return sum(d.role == d.truth_role for d in self.devices) / len(self.devices)

    @property
    def role_macro_f1(self) -> float:
        return _macro_f1(self.devices)

    @property
    def plant_role_macro_f1(self) -> float:
        """Macro-F1 over the plant's own devices: an attacker's machine has no plant role."""
        return _macro_f1([d for d in self.devices if not d.attacker])


    @property
    def purdue_accuracy(self) -> float:
        scored = [d for d in self.devices if d.purdue_truth is not None]
        if not scored:
            return 0.0
        return sum(d.purdue == d.purdue_truth for d in scored) / len(scored)

    def identity_rate(self, attribute: str | None = None) -> tuple[int, int]:
        """(exact matches, strings compared), for one attribute or all."""
        hits = total = 0
        for d in self.devices:
            for attr, (want, got) in d.identity.items():
                if attribute is not None and attr != attribute:
                    continue
                total += 1
                hits += got is not None and _norm(got) == _norm(want)
        return hits, total

    def summary(self) -> dict[str, Any]:
        hits, total = self.identity_rate()
        return {
            "devices": len(self.devices),
            "role_accuracy": round(self.role_accuracy, 4),
            "role_macro_f1": round(self.role_macro_f1, 4),
            "plant_role_macro_f1": round(self.plant_role_macro_f1, 4),
            "purdue_accuracy": round(self.purdue_accuracy, 4),
            "identity_exact": f"{hits}/{total}",
            "split": self.split,
            "merged": self.merged,
            "missed": self.missed,
            "unexpected_assets": len(self.unexpected),
            "mistakes": [
                {"device": d.name, "truth": d.truth_role, "got": d.role}
                for d in self.devices
                if d.role != d.truth_role
            ],
            "identity_mismatches": [
                {"device": d.name, "attribute": a, "want": w, "got": g}
                for d in self.devices
                for a, (w, g) in d.identity.items()
                if g is None or _norm(g) != _norm(w)
            ],
        }


def _macro_f1(devices: list[DeviceScore]) -> float:
    roles = sorted({d.truth_role for d in devices})
    f1s = []
    for role in roles:
        tp = sum(d.role == role and d.truth_role == role for d in devices)
        fp = sum(d.role == role and d.truth_role != role for d in devices)
        fn = sum(d.role != role and d.truth_role == role for d in devices)
        denom = 2 * tp + fp + fn
        f1s.append(2 * tp / denom if denom else 1.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def _value(asset: Asset, attribute: str) -> str | None:
    if attribute == "hostname":
        return asset.hostnames[0] if asset.hostnames else None
    value = getattr(asset, attribute, None)
    if value is None:
        value = asset.attributes.get(attribute)
    return value if isinstance(value, str) else None


def score(assets: list[Asset], truth: dict[str, Any]) -> InventoryScore:
    by_mac = {m: a for a in assets for m in a.macs}
    by_ip = {ip: a for a in assets for ip in a.ips}
    holders: dict[str, set[str]] = {}
    devices: list[DeviceScore] = []
    for dev in truth.get("devices", []):
        found: dict[str, Asset] = {}
        for mac in dev.get("macs", []):
            if mac in by_mac:
                found[by_mac[mac].asset_id] = by_mac[mac]
        for ip in dev.get("ips", []):
            if ip in by_ip:
                found[by_ip[ip].asset_id] = by_ip[ip]
        for aid in found:
            holders.setdefault(aid, set()).add(dev["name"])
        main = next(iter(found.values()), None)
        if len(found) > 1:  # score the asset holding the device's MAC
            main = next((a for a in found.values() if set(a.macs) & set(dev["macs"])), main)
        ds = DeviceScore(
            dev["name"],
            dev["role"],
            sorted(found),
            main.role if main else None,
            dev.get("purdue_level"),
            main.purdue_level if main else None,
            bool(dev.get("attacker")),
        )
        for attr, want in (dev.get("reveals") or {}).items():
            if attr in IDENTITY_FIELDS:
                ds.identity[attr] = (want, _value(main, attr) if main else None)
        devices.append(ds)
    merged = sorted(aid for aid, names in holders.items() if len(names) > 1)
    unexpected = sorted(a.asset_id for a in assets if a.asset_id not in holders)
    return InventoryScore(devices, merged, unexpected)
