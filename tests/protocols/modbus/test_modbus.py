"""Modbus/TCP dissector: hand-made exchanges, tshark oracle on the corpus, false claims, fuzz."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Hashable, Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otsight.capture.writer import PcapWriter
from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.events import Event
from otsight.core.plugins import FlowContext
from otsight.protocols.modbus.dissector import ModbusDissector
from otsight.protocols.modbus.events import ModbusMalformed, ModbusRequest, ModbusResponse
from otsight.protocols.modbus.parser import adu_length, parse_request, parse_response
from otsight.testing import tshark
from otsight.testing.corpus import shared_data
from otsight.testing.packets import (
    modbus_exception_response,
    modbus_read_request,
    modbus_tcp_adu,
    modbus_write_single_register,
    tcp_frame,
)
from otsight.testing.protocol_oracle import Agreement, compare, dissect, split

T0 = 1_767_225_600_000_000_000
HMI, PLC = "192.0.2.10", "192.0.2.20"
DATA = shared_data()


def _session(path: Path, pdus: list[tuple[bytes, bytes]], port: int = 502) -> None:
    frames = [
        tcp_frame(HMI, PLC, 40000, port, seq=100, flags="S"),
        tcp_frame(PLC, HMI, port, 40000, seq=900, ack=101, flags="SA"),
        tcp_frame(HMI, PLC, 40000, port, seq=101, ack=901, flags="A"),
    ]
    cs, ss = 101, 901
    for tid, (req, resp) in enumerate(pdus, start=1):
        a = modbus_tcp_adu(tid, 1, req)
        frames.append(tcp_frame(HMI, PLC, 40000, port, seq=cs, ack=ss, payload=a))
        cs += len(a)
        b = modbus_tcp_adu(tid, 1, resp)
        frames.append(tcp_frame(PLC, HMI, port, 40000, seq=ss, ack=cs, payload=b))
        ss += len(b)
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for k, f in enumerate(frames):
            w.write(f, T0 + k * 1_000_000)


def _device_id_response(objects: dict[int, bytes]) -> bytes:
    body = bytes([0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, len(objects)])
    for oid, value in objects.items():
        body += bytes([oid, len(value)]) + value
    return body


def test_requests_responses_pairing_exceptions_and_device_identification(tmp_path: Path) -> None:
    path = tmp_path / "m.pcap"
    _session(path, [
        (modbus_read_request(3, 100, 2), bytes([3, 4, 0, 7, 0, 9])),
        (modbus_write_single_register(10, 1234), modbus_write_single_register(10, 1234)),
        (bytes([0x2B, 0x0E, 0x01, 0x00]),
         _device_id_response({0: b"Schneider Electric", 1: b"BMX P34 2020", 2: b"v2.70"})),
        (modbus_read_request(4, 0, 1), modbus_exception_response(4, 2)),
        (bytes([8, 0, 4, 0, 0]), bytes([8, 0, 4, 0, 0])),  # force listen only mode
    ])
    events = dissect(path, [ModbusDissector])
    reqs = [e for e in events if isinstance(e, ModbusRequest)]
    resps = [e for e in events if isinstance(e, ModbusResponse)]
    assert [r.function for r in reqs] == [
        "read-holding-registers", "write-single-register", "encapsulated-interface-transport",
        "read-input-registers", "diagnostics",
    ]
    first = (reqs[0].address, reqs[0].quantity, reqs[0].src_ip, reqs[0].dst_port)
    assert first == (100, 2, HMI, 502)
    assert resps[0].values == (7, 9)
    assert resps[0].matched
    assert resps[0].request_frame == 4
    assert resps[0].latency == pytest.approx(0.001)
    assert reqs[1].values == (1234,)
    assert resps[2].device_identification == {
        "vendor_name": "Schneider Electric", "product_code": "BMX P34 2020", "revision": "v2.70"}
    assert (resps[3].exception_code, resps[3].exception) == (2, "illegal-data-address")
    assert reqs[4].sub_function_name == "force-listen-only-mode"
    assert all(r.matched for r in resps)
    doc = resps[2].ecs()
    assert doc["event"]["module"] == "modbus"
    assert doc["source"]["ip"] == PLC
    assert doc["modbus"]["device_identification"]["revision"] == "v2.70"


def test_found_on_a_non_standard_port(tmp_path: Path) -> None:
    path = tmp_path / "odd.pcap"
    _session(path, [(modbus_read_request(3, 0, 4), bytes([3, 8]) + bytes(8))] * 3, port=5020)
    events = dissect(path, [ModbusDissector])
    assert len([e for e in events if isinstance(e, ModbusRequest)]) == 3


def test_random_bytes_on_port_502_are_not_claimed() -> None:
    rng = random.Random(7)
    flow = FlowContext(1, 6, HMI, 40000, PLC, 502)
    claimed = 0
    for _ in range(2000):
        data = rng.randbytes(rng.randrange(1, 64))
        if ModbusDissector.probe(data, 0) + 0.25 >= 0.6:
            claimed += 1
    assert claimed == 0
    assert flow.resp_port in ModbusDissector.ports


def test_garbage_mid_stream_is_counted_and_the_stream_resynchronises() -> None:
    d = ModbusDissector(FlowContext(1, 6, HMI, 40000, PLC, 502))
    good = modbus_tcp_adu(1, 1, modbus_read_request(3, 0, 1))
    out = list(d.on_data(0, b"\xff\xff\xff" + good, T0, 5))
    assert isinstance(out[0], ModbusRequest)
    assert isinstance(out[-1], ModbusMalformed)
    split_adu = modbus_tcp_adu(2, 1, modbus_read_request(3, 0, 1))
    assert list(d.on_data(0, split_adu[:5], T0, 6)) == []
    (second,) = d.on_data(0, split_adu[5:], T0, 7)
    assert isinstance(second, ModbusRequest)
    assert (second.transaction_id, second.frame) == (2, 7)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_only_declared_errors(data: bytes, response: bool) -> None:
    try:
        n = adu_length(data)
    except (NeedMoreData, Malformed):
        n = 0
    if 0 < n <= len(data):
        with contextlib.suppress(Malformed):
            parse_response(data[:n], None) if response else parse_request(data[:n])
    d = ModbusDissector(FlowContext(1, 6, HMI, 40000, PLC, 502))
    for event in d.on_data(1 if response else 0, data, T0, 1):
        assert isinstance(event, Event)
    ModbusDissector.probe(data, 0)


# --------------------------------------------------------------------------- tshark oracle
MODBUS_CAPTURES = [
    "pcaps/ITI_ICS-Security-Tools/ModbusTCP/Modbus/modbus_test.pcap",
    "pcaps/ITI_ICS-Security-Tools/ModbusTCP/Modbus/modbus_test_2.pcap",
    "pcaps/ITI_ICS-Security-Tools/ModbusTCP/ModbusTCP.pcap",
    "pcaps/ITI_ICS-Security-Tools/ModbusTCP/mb2.pcap",
    "pcaps/ITI_ICS-Security-Tools/ModbusTCP/modbus_test_data_part1.pcap",
    "pcaps/ITI_ICS-Security-Tools/ModbusTCP/modbus_test_data_part2.pcap",
    "pcaps/ITI_ICS-Security-Tools/bro/modbus/fuzz-1011.pcap",
    "pcaps/ITI_ICS-Security-Tools/bro/modbus/fuzz-72.pcap",
    "pcaps/ITI_ICS-Security-Tools/bro/modbus/modbusBig.pcap",
    "pcaps/ITI_ICS-Security-Tools/bro/modbus/modbusSmall.pcap",
    "pcaps/ITI_ICS-Security-Tools/modicon/modicon_test.pcap",
    "pcaps/OISF_suricata-verify/modbus/modbus.pcap",
    "pcaps/ntop_nDPI/pcap/modbus.pcap",
    "labelled/antoine-lemay_Modbus_dataset/CnC_uploading_exe_modbus_6RTU_with_operate.pcap",
    "labelled/antoine-lemay_Modbus_dataset/characterization_modbus_6RTU_with_operate.pcap",
    "labelled/antoine-lemay_Modbus_dataset/exploit_ms08_netapi_modbus_6RTU_with_operate.pcap",
    "labelled/antoine-lemay_Modbus_dataset/moving_two_files_modbus_6RTU.pcap",
    "labelled/antoine-lemay_Modbus_dataset/send_a_fake_command_modbus_6RTU_with_operate.pcap",
]
FIELDS = ["mbtcp.trans_id", "mbtcp.unit_id", "modbus.func_code", "modbus.exception_code"]


def _tshark_keys(row: list[str]) -> Iterable[Hashable]:
    frame = int(row[0])
    tids, units, fcs = split(row[1]), split(row[2]), split(row[3])
    # modbus.func_code is shown without the exception bit; one entry per ADU.
    for tid, unit, fc in zip(tids, units, fcs, strict=False):
        yield (frame, int(tid), int(unit), int(fc))


def _event_key(e: Event) -> Hashable | None:
    if isinstance(e, ModbusRequest | ModbusResponse):
        return (e.frame, e.transaction_id, e.unit_id, e.function_code)
    return None


@pytest.mark.oracle
@pytest.mark.skipif(DATA is None or not tshark.available(), reason="needs shared data, tshark")
def test_agrees_with_tshark_message_by_message() -> None:
    assert DATA is not None
    results: list[Agreement] = []
    for rel in MODBUS_CAPTURES:
        path = DATA / rel
        if path.exists():
            results.append(
                compare(path, [ModbusDissector], FIELDS, _tshark_keys, _event_key, "mbtcp")
            )
    total = sum(r.compared for r in results)
    matched = sum(r.matched for r in results)
    for r in results:
        print(f"{Path(r.capture).name:60s} ours {r.ours:6d} tshark {r.theirs:6d} "
              f"agree {r.ratio:.4f} {r.only_ours[:2]} {r.only_theirs[:2]}")
    print(f"modbus: {len(results)} captures, {total} messages, agreement {matched / total:.5f}")
    assert len(results) >= 15
    assert total > 20_000
    assert matched / total >= 0.99


def test_umas_function_is_the_sub_function() -> None:
    """Schneider UMAS (FC 90): session byte, then the UMAS function; the answer inherits it."""
    from otsight.protocols.modbus.parser import parse_request, parse_response

    req = parse_request(bytes.fromhex("000100000004015a0041"))  # session 0, STOP_PLC
    assert (req.function_code, req.sub_function) == (90, 0x41)
    rsp = parse_response(bytes.fromhex("000100000004015a00fe"), req)
    assert rsp.sub_function == 0x41
