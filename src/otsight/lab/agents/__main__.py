"""Entry point: ``python -m otsight.lab.agents KIND JSON_SPEC``."""

from __future__ import annotations

import asyncio
import json
import logging
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m otsight.lab.agents KIND JSON_SPEC (KIND: plc, hmi, ews, "
                         "attacker, opcua-server, opcua-client, mqtt-sensor, camera, vms, "
                         "bacnet-device, bms)\n")
        return 2
    kind, spec = argv[0], json.loads(argv[1])
    logging.basicConfig(level=logging.WARNING, format=f"{kind} %(levelname)s %(name)s: %(message)s")
    if kind == "plc":
        from .plc import serve

        asyncio.run(serve(spec))
    elif kind == "hmi":
        from .clients import run_hmi

        asyncio.run(run_hmi(spec))
    elif kind == "ews":
        from .clients import run_ews

        asyncio.run(run_ews(spec))
    elif kind == "opcua-server":
        from .iiot import opcua_server

        asyncio.run(opcua_server(spec))
    elif kind == "opcua-client":
        from .iiot import opcua_client

        asyncio.run(opcua_client(spec))
    elif kind == "mqtt-sensor":
        from .iiot import mqtt_sensor

        mqtt_sensor(spec)
    elif kind == "camera":
        from .camera import camera_server

        camera_server(spec)
    elif kind == "vms":
        from .camera import vms_client

        vms_client(spec)
    elif kind == "bacnet-device":
        from .bacnet import bacnet_device

        asyncio.run(bacnet_device(spec))
    elif kind == "bms":
        from .bacnet import bms_client

        asyncio.run(bms_client(spec))
    elif kind == "attacker":
        from .clients import run_attack

        asyncio.run(run_attack(spec))
    else:
        sys.stderr.write(f"unknown agent kind {kind!r}\n")
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
