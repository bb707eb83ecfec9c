"""Typed ground-truth records for a lab run (what ``truth.json`` holds)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TRUTH_VERSION = 1


@dataclass(frozen=True, slots=True)
class Identity:
    """What a Modbus device answers to Read Device Identification (FC 43 / MEI 14)."""

    vendor: str
    product_code: str
    revision: str
    vendor_url: str = ""
    product_name: str = ""
    model_name: str = ""
    user_application_name: str = ""


@dataclass(frozen=True, slots=True)
class Device:
    """One namespace of the plant: a device with one interface on the plant bridge."""

    name: str
    role: str  # one of otsight.inventory.model.ROLES (an attacker says so in ``attacker``)
    ip: str
    mac: str
    vendor: str
    model: str
    firmware: str
    purdue_level: float | None
    hostname: str
    services: tuple[str, ...] = ()  # e.g. ("modbus/tcp:502",)
    identity: Identity | None = None
    unit_id: int = 1
    attacker: bool = False
    addressing: str = "static"  # "static", or "dhcp" (leased from the lab's DHCP server)
    # Identity strings the device's own protocols put on the wire (besides Modbus 43/14, which
    # ``identity`` gives): what an inventory can be asked to find exactly.
    reveals: tuple[tuple[str, str], ...] = ()

    def revealed(self) -> dict[str, str]:
        """Every identity string this device sends, by inventory attribute name."""
        out: dict[str, str] = {}
        if self.identity is not None:
            out["vendor"] = self.identity.vendor
            out["model"] = self.identity.model_name or self.identity.product_code
            out["firmware"] = self.identity.revision
        out.update(dict(self.reveals))
        return out


@dataclass(frozen=True, slots=True)
class Conversation:
    """A normal, expected conversation of the plant."""

    client: str  # device name
    server: str
    protocol: str
    transport: str
    port: int
    function_codes: tuple[int, ...]
    period_s: float
    description: str
    auth_user: str | None = None  # the user name the client logs in with (HTTP Basic, ...)


@dataclass(slots=True)
class AttackStep:
    """One attack step with the capture-clock window it ran in."""

    step_id: str
    name: str
    technique_ids: tuple[str, ...]  # ATT&CK for ICS; the first is the primary one
    attacker: str  # device name
    victims: tuple[str, ...]
    description: str
    start: float = 0.0
    end: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    ok: bool = True


@dataclass(slots=True)
class BenignChange:
    """A legitimate, documented change (maintenance window): not an attack.

    Detectors may well flag it (new register range, a setpoint write): a finding inside such a
    window counts as a false positive, which is what these records are for.
    """

    change_id: str
    name: str
    actor: str  # device name
    targets: tuple[str, ...]
    description: str
    start: float = 0.0
    end: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    ok: bool = True


@dataclass(slots=True)
class Truth:
    """The whole ground truth of one run."""

    scenario: str
    seed: int
    network: str
    bridge: str
    capture_file: str
    capture_start: float
    capture_end: float
    devices: list[Device]
    conversations: list[Conversation]
    attack_steps: list[AttackStep]
    tools: dict[str, str]
    benign_changes: list[BenignChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as ``schemas/truth.schema.json`` describes it."""
        out: dict[str, Any] = {
            "truth_version": TRUTH_VERSION,
            "scenario": self.scenario,
            "seed": self.seed,
            "network": self.network,
            "bridge": self.bridge,
            "capture": {
                "file": self.capture_file,
                "start": self.capture_start,
                "end": self.capture_end,
                "clock": "CLOCK_REALTIME (kernel capture timestamps and time.time())",
            },
            "devices": [],
            "conversations": [],
            "attack_steps": [],
            "benign_changes": [],
            "tools": dict(self.tools),
        }
        for dev in self.devices:
            entry = asdict(dev)
            entry["macs"] = [dev.mac]
            entry["ips"] = [dev.ip]
            del entry["mac"], entry["ip"]
            entry["services"] = list(dev.services)
            entry["reveals"] = dev.revealed()
            out["devices"].append(entry)
        for conv in self.conversations:
            centry = asdict(conv)
            centry["function_codes"] = list(conv.function_codes)
            out["conversations"].append(centry)
        for step in self.attack_steps:
            sentry = asdict(step)
            sentry["technique_ids"] = list(step.technique_ids)
            sentry["victims"] = list(step.victims)
            out["attack_steps"].append(sentry)
        for change in self.benign_changes:
            bentry = asdict(change)
            bentry["targets"] = list(change.targets)
            out["benign_changes"].append(bentry)
        return out
