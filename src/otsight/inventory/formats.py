"""The inventory as JSON, CSV and CycloneDX (the table view lives in the CLI, it needs rich)."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import asdict
from typing import IO, Any

import orjson

from .. import __version__
from .model import Asset

CSV_COLUMNS = (
    "asset_id",
    "ips",
    "macs",
    "hostnames",
    "vendor",
    "model",
    "firmware",
    "serial",
    "device_name",
    "os",
    "role",
    "role_confidence",
    "purdue_level",
    "is_router",
    "protocols",
    "services",
    "first_seen",
    "last_seen",
    "packets",
    "bytes",
)


def asset_dict(asset: Asset) -> dict[str, Any]:
    """Everything about an asset as plain data (for consumers that want dicts)."""
    return asdict(asset)


def write_json(
    out: IO[bytes], assets: list[Asset], meta: dict[str, Any], extra: dict[str, Any] | None = None
) -> None:
    """The inventory as one JSON document, one asset per line, written as it is serialised.

    orjson serialises each dataclass without copying it into dicts first, and nothing holds the
    whole document: at tens of thousands of assets that is most of the memory saved.
    """
    out.write(b'{"meta": ' + orjson.dumps(meta) + b',\n "assets": [\n')
    last = len(assets) - 1
    for i, asset in enumerate(assets):
        out.write(b"  " + orjson.dumps(asset) + (b",\n" if i < last else b"\n"))
    out.write(b" ]")
    for key, value in (extra or {}).items():
        out.write(b",\n " + orjson.dumps(key) + b": " + orjson.dumps(value))
    out.write(b"\n}\n")


def to_csv(assets: list[Asset]) -> str:
    """One row per asset; lists joined with spaces (addresses) or semicolons (names)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for a in assets:
        writer.writerow(
            [
                a.asset_id,
                " ".join(a.ips),
                " ".join(a.macs),
                "; ".join(a.hostnames),
                a.vendor or "",
                a.model or "",
                a.firmware or "",
                a.serial or "",
                a.device_name or "",
                a.os or "",
                a.role,
                f"{a.role_confidence:.2f}",
                "" if a.purdue_level is None else a.purdue_level,
                "yes" if a.is_router else "",
                " ".join(a.protocols),
                " ".join(f"{s.protocol}/{s.transport}:{s.port}" for s in a.services),
                f"{a.first_seen:.6f}",
                f"{a.last_seen:.6f}",
                a.packets,
                a.bytes,
            ]
        )
    return out.getvalue()


def to_cyclonedx(assets: list[Asset], source: str, timestamp: str) -> dict[str, Any]:
    """A CycloneDX 1.5 BOM with one ``device`` component per asset.

    The serial number is derived from the source and the assets, so the same capture always
    gives the same document (no wall-clock or random identifiers).
    """
    components = []
    for a in assets:
        props = [
            {"name": "otsight:role", "value": a.role},
            {"name": "otsight:role_confidence", "value": f"{a.role_confidence:.2f}"},
        ]
        if a.purdue_level is not None:
            props.append({"name": "otsight:purdue_level", "value": str(a.purdue_level)})
        props += [{"name": "otsight:ip", "value": ip} for ip in a.ips]
        props += [{"name": "otsight:mac", "value": mac} for mac in a.macs]
        props += [{"name": "otsight:hostname", "value": h} for h in a.hostnames]
        props += [
            {"name": "otsight:service", "value": f"{s.protocol}/{s.transport}:{s.port}"}
            for s in a.services
        ]
        if a.serial:
            props.append({"name": "otsight:serial", "value": a.serial})
        component: dict[str, Any] = {
            "type": "device",
            "bom-ref": a.asset_id,
            "name": a.model or a.device_name or (a.hostnames[0] if a.hostnames else a.asset_id),
            "properties": props,
        }
        if a.firmware:
            component["version"] = a.firmware
        if a.vendor:
            component["manufacturer"] = {"name": a.vendor}
        if a.device_name:
            component["description"] = a.device_name
        components.append(component)
    digest = uuid.uuid5(uuid.NAMESPACE_URL, source + "|" + "|".join(a.asset_id for a in assets))
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{digest}",
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {
                "components": [{"type": "application", "name": "otsight", "version": __version__}]
            },
            "properties": [{"name": "otsight:source", "value": source}],
        },
        "components": components,
    }
