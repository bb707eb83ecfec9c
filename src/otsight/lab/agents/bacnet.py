"""BACnet/IP (bacpypes3): a building controller and a BMS workstation polling it.

The controller answers Who-Is with I-Am and ReadProperty of its device object (vendor name,
model name, firmware revision...). The BMS does Who-Is (for that instance) and reads those
properties every period. Both bind ``IP/24`` on 47808/udp; broadcasts stay on the lab bridge.
Both print ``READY``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
from typing import Any

log = logging.getLogger(__name__)

BACNET_PORT = 47808
DEVICE_PROPERTIES = ("objectName", "vendorName", "modelName", "firmwareRevision",
                     "applicationSoftwareVersion")


def _ready() -> None:
    sys.stdout.write("READY\n")
    sys.stdout.flush()


async def bacnet_device(spec: dict[str, Any]) -> None:
    from bacpypes3.ipv4.app import NormalApplication  # type: ignore[import-untyped,unused-ignore]
    from bacpypes3.local.device import DeviceObject  # type: ignore[import-untyped,unused-ignore]
    from bacpypes3.pdu import Address  # type: ignore[import-untyped,unused-ignore]

    device = DeviceObject(
        objectIdentifier=("device", int(spec["instance"])), objectName=str(spec["name"]),
        vendorIdentifier=int(spec["vendor_id"]), vendorName=str(spec["vendor"]),
        modelName=str(spec["model"]), firmwareRevision=str(spec["firmware"]),
        applicationSoftwareVersion=str(spec.get("application", spec["firmware"])),
        location=str(spec.get("location", "")), description=str(spec.get("description", "")),
    )
    app = NormalApplication(device, Address(f"{spec['ip']}/{int(spec.get('prefix_len', 24))}"))
    _ready()
    try:
        await asyncio.Future()
    finally:
        app.close()


async def bms_client(spec: dict[str, Any]) -> None:
    from bacpypes3.ipv4.app import NormalApplication
    from bacpypes3.local.device import DeviceObject
    from bacpypes3.pdu import Address

    rng = random.Random(int(spec.get("seed", 0)))
    instance = int(spec["target_instance"])
    me = DeviceObject(objectIdentifier=("device", int(spec.get("instance", 599))),
                      objectName=str(spec.get("name", "BMS-WS")),
                      vendorIdentifier=int(spec.get("vendor_id", 999)))
    app = NormalApplication(me, Address(f"{spec['ip']}/{int(spec.get('prefix_len', 24))}"))
    period = float(spec.get("period_s", 5.0))
    ready = False
    try:
        while True:
            i_ams = await app.who_is(instance, instance, timeout=2)
            if i_ams:
                address = i_ams[0].pduSource
                for prop in DEVICE_PROPERTIES:
                    try:
                        await app.read_property(address, f"device,{instance}", prop)
                    except Exception as exc:  # error/abort/reject: keep polling
                        log.warning("ReadProperty %s: %s", prop, exc)
                if not ready:
                    _ready()
                    ready = True
            else:
                log.warning("no I-Am from device %d", instance)
            await asyncio.sleep(period * rng.uniform(0.95, 1.05))
    finally:
        app.close()
