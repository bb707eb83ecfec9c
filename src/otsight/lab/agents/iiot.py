"""Optional plant extras: an OPC UA historian (asyncua) with a client, and MQTT IoT sensors.

Only started when their packages are installed (asyncua; paho-mqtt plus the mosquitto broker
binary). Every agent prints ``READY`` once it serves or has connected.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import sys
import time
from typing import Any

log = logging.getLogger(__name__)

OPCUA_PORT = 4840
OPCUA_PATH = "otsight/historian"
OPCUA_NS = "urn:otsight:lab:historian"
TAGS = ("Tank1_Level_mm", "Tank1_Temperature_C", "Pump2_Flow_lpm")


def _ready() -> None:
    sys.stdout.write("READY\n")
    sys.stdout.flush()


async def opcua_server(spec: dict[str, Any]) -> None:
    """An OPC UA server (no security) publishing a few historian tags that change every second."""
    from asyncua import Server, ua  # type: ignore[import-untyped,unused-ignore]

    rng = random.Random(int(spec.get("seed", 0)))
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://{spec['ip']}:{OPCUA_PORT}/{OPCUA_PATH}")
    server.set_server_name(str(spec.get("server_name", "otsight lab historian")))
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    idx = await server.register_namespace(OPCUA_NS)
    plant = await server.nodes.objects.add_object(idx, "Plant")
    nodes = [await plant.add_variable(ua.NodeId(tag, idx), tag, 0.0) for tag in TAGS]
    async with server:
        _ready()
        t0 = time.monotonic()
        while True:
            t = time.monotonic() - t0
            values = (450.0 + 200.0 * math.sin(t / 30.0) + rng.gauss(0, 2),
                      18.5 + rng.gauss(0, 0.1), 40.0 + rng.gauss(0, 1.5))
            for node, value in zip(nodes, values, strict=True):
                await node.write_value(round(value, 2))
            await asyncio.sleep(1.0)


async def opcua_client(spec: dict[str, Any]) -> None:
    """A historian/reporting client: one session, reads every tag every ``period_s``."""
    from asyncua import Client  # type: ignore[import-untyped,unused-ignore]
    from asyncua.ua.uaerrors import UaError  # type: ignore[import-untyped,unused-ignore]

    ua_errors = UaError
    url = f"opc.tcp://{spec['server']}:{OPCUA_PORT}/{OPCUA_PATH}"
    period = float(spec.get("period_s", 2.0))
    ready = False
    while True:
        try:
            async with Client(url=url, timeout=2.0) as client:
                idx = await client.get_namespace_index(OPCUA_NS)
                nodes = [client.get_node(f"ns={idx};s={tag}") for tag in TAGS]
                if not ready:
                    _ready()
                    ready = True
                while True:
                    await client.read_values(nodes)
                    await asyncio.sleep(period)
        except (TimeoutError, OSError, ConnectionError, ua_errors) as exc:
            log.warning("OPC UA session to %s failed: %s", url, exc)
            await asyncio.sleep(0.5)


def mqtt_sensor(spec: dict[str, Any]) -> None:
    """An IoT sensor: paho-mqtt client publishing JSON readings to the broker every period."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    rng = random.Random(int(spec.get("seed", 0)))
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=str(spec["client_id"]))
    deadline = time.monotonic() + 20.0
    while True:
        try:
            client.connect(str(spec["broker"]), 1883, keepalive=30)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    client.loop_start()
    _ready()
    period = float(spec.get("period_s", 2.0))
    base = float(spec.get("base", 20.0))
    try:
        while True:
            reading = {"ts": round(time.time(), 3), "value": round(base + rng.gauss(0, 0.3), 2),
                       "unit": spec.get("unit", "C")}
            client.publish(str(spec["topic"]), json.dumps(reading), qos=0)
            time.sleep(period * rng.uniform(0.9, 1.1))
    finally:
        client.loop_stop()
        client.disconnect()
