"""Modbus: device identification (FC 43/14) of the server, and what each request does.

The 43/14 objects describe the device that answers (the server, ``src`` of the response). Behind
a Modbus gateway the unit id selects a serial device the gateway fronts; otsight has no address
for those, so their identity lands on the gateway's IP (the unit id is not an asset key yet).
"""

from __future__ import annotations

import numpy as np

from ...protocols.modbus.batch import ModbusBatch
from ...protocols.modbus.codes import function_name
from ...protocols.modbus.events import ModbusRequest, ModbusResponse
from ...protocols.modbus.kernel import REQUEST
from ..ledger import Ledger
from ..model import Fact
from ._common import NONE, Collector, Handler, one

SOURCE = "modbus/device-identification"
IDENTIFICATION = 90
SECOND_NAME = 85  # ProductName: a model name, beaten by ModelName when both are sent

# 43/14 object (as the dissector names it) -> (attribute, reliability)
OBJECTS: dict[str, tuple[str, int]] = {
    "vendor_name": ("vendor", IDENTIFICATION),
    "product_code": ("product_code", IDENTIFICATION),
    "revision": ("firmware", IDENTIFICATION),
    "model_name": ("model", IDENTIFICATION),
    "product_name": ("model", SECOND_NAME),
    "user_application_name": ("application", IDENTIFICATION),
}

CATEGORIES: dict[int, str] = {
    1: "read",
    2: "read",
    3: "read",
    4: "read",
    5: "write",
    6: "write",
    7: "read",  # read exception status: eight status coils
    8: "diagnostic",
    11: "diagnostic",
    12: "diagnostic",
    15: "write",
    16: "write",
    17: "diagnostic",  # report server id
    20: "read",
    21: "write",
    22: "write",
    23: "write",  # read/write multiple registers: the write is what matters
    24: "read",
    43: "diagnostic",
    # 90 (Schneider UMAS) carries reads, writes, program transfers and start/stop alike: its
    # category comes from the UMAS function (UMAS_CATEGORIES).
}
UMAS_CATEGORIES = {
    **dict.fromkeys((0x01, 0x0A, 0x10, 0x11, 0x12), "session"),
    **dict.fromkeys((0x02, 0x03, 0x04, 0x06, 0x39, 0x58, 0x73), "diagnostic"),
    **dict.fromkeys((0x20, 0x22, 0x24, 0x50, 0x70), "read"),
    **dict.fromkeys((0x23, 0x25, 0x71), "write"),
    **dict.fromkeys((0x30, 0x31, 0x32, 0x33, 0x34, 0x35), "program"),
    **dict.fromkeys((0x40, 0x41), "control"),
}
# FC 8 sub-functions that change the device's behaviour rather than report on it.
CONTROL_DIAGNOSTICS = frozenset({1, 4})  # restart communications, force listen-only mode


def request(event: ModbusRequest) -> tuple[Fact, ...]:
    fc = event.function_code
    category = CATEGORIES.get(fc, "other")
    if fc == 8 and event.sub_function in CONTROL_DIAGNOSTICS:
        category = "control"
    elif fc == 43 and event.sub_function != 14:
        category = "other"  # CANopen general reference: a tunnelled request of any kind
    elif fc == 90 and event.sub_function is not None:
        category = UMAS_CATEGORIES.get(event.sub_function, "other")
    return one(event, category)


def response(event: ModbusResponse) -> tuple[Fact, ...]:
    objects = event.device_identification
    if not objects:
        return NONE
    facts = Collector(event)
    for name, value in objects.items():
        target = OBJECTS.get(name)
        if target is not None:
            facts.observe(target[0], value, SOURCE, target[1], ip=event.src_ip)
    return facts.result()


HANDLERS: dict[type, Handler] = {ModbusRequest: request, ModbusResponse: response}


def fold_modbus(ledger: Ledger, batch: ModbusBatch) -> None:
    """Requests of a columnar batch as counted activities (responses of the batch path carry no
    identification: FC 43 and FC 90 never take it), equal to folding :func:`request` per event."""
    c = batch.columns
    req = np.flatnonzero(c["kind"] == REQUEST)
    if req.shape[0] == 0:
        return
    key = (c["flow"][req] * 2 + c["direction"][req]) * 256 + (c["fc"][req] & 0xFF)
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    ts = c["ts_ns"][req]
    first = np.full(uniq.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    last = np.zeros(uniq.shape[0], dtype=np.int64)
    np.minimum.at(first, inverse, ts)
    np.maximum.at(last, inverse, ts)
    for k, n, t0, t1 in zip(uniq.tolist(), counts.tolist(), first.tolist(), last.tolist(),
                            strict=True):
        fc = k & 0xFF
        flow, direction = divmod(k >> 8, 2)
        ends = batch.endpoints[flow][direction]
        ledger.act_many(
            ("ip", ends["src_ip"]),
            ("ip", ends["dst_ip"]),
            "modbus",
            CATEGORIES.get(fc, "other"),
            function_name(fc),
            n,
            t0 / 1e9,
            t1 / 1e9,
            ends["dst_port"],
            ends["transport"],
        )
