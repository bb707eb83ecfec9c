"""Hand-made captures for the detection tests: frames at chosen capture times, protocol payloads
built byte by byte, and a runner that sends a capture through the real pipeline."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from otsight.alerts.model import Alert
from otsight.capture.writer import PcapWriter
from otsight.detect.base import Detector
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_files
from otsight.protocols.dnp3.parser import crc16
from otsight.testing.packets import (
    ARP_REPLY,
    ARP_REQUEST,
    BROADCAST_MAC,
    ETH_ARP,
    IPPROTO_ICMP,
    arp,
    ethernet,
    icmp,
    icmp_echo,
    ipv4,
    modbus_tcp_adu,
    tcp_frame,
    udp_frame,
)

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC

HMI, EWS, PLC, PLC2, ATK = "192.0.2.20", "192.0.2.21", "192.0.2.10", "192.0.2.11", "192.0.2.66"
MACS = {
    HMI: "00:14:22:5e:a0:10",
    EWS: "3c:d9:2b:71:0e:21",
    PLC: "00:80:f4:3a:1c:01",
    PLC2: "00:30:de:0b:44:02",
    ATK: "b8:27:eb:9d:3e:66",
}


def mac_of(ip: str) -> str:
    return MACS.get(ip, "02:00:00:00:00:%02x" % (int(ip.rsplit(".", 1)[1]) & 0xFF))


class Capture:
    """Frames at capture times (seconds after T0); TCP sequence numbers kept per direction."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, bytes]] = []
        self._seq: dict[tuple[str, int, str, int], int] = {}

    def raw(self, t: float, frame: bytes) -> None:
        self.frames.append((t, frame))

    def tcp(
        self, t: float, src: str, dst: str, sport: int, dport: int, payload: bytes = b"",
        flags: str = "PA",
    ) -> None:
        key = (src, sport, dst, dport)
        seq = self._seq.get(key, 1000)
        ack = self._seq.get((dst, dport, src, sport), 1000)
        self.raw(t, tcp_frame(src, dst, sport, dport, seq=seq, ack=ack, flags=flags,
                              payload=payload, src_mac=mac_of(src), dst_mac=mac_of(dst)))
        self._seq[key] = seq + len(payload) + (1 if "S" in flags or "F" in flags else 0)

    def exchange(
        self, t: float, client: str, server: str, sport: int, dport: int, request: bytes,
        response: bytes | None = None,
    ) -> None:
        """A request and (10 ms later) its response on one TCP connection."""
        self.tcp(t, client, server, sport, dport, request)
        if response is not None:
            self.tcp(t + 0.01, server, client, dport, sport, response)

    def udp(self, t: float, src: str, dst: str, sport: int, dport: int, payload: bytes) -> None:
        self.raw(t, udp_frame(src, dst, sport, dport, payload=payload, src_mac=mac_of(src),
                              dst_mac=mac_of(dst)))

    def arp(
        self, t: float, op: int, sender_mac: str, sender_ip: str, target_ip: str,
        target_mac: str = "00:00:00:00:00:00", eth_dst: str = BROADCAST_MAC,
    ) -> None:
        body = arp(op, sender_mac, sender_ip, target_mac, target_ip)
        self.raw(t, ethernet(eth_dst, sender_mac, ETH_ARP, body, pad=True))

    def arp_request(self, t: float, ip: str, target_ip: str) -> None:
        self.arp(t, ARP_REQUEST, mac_of(ip), ip, target_ip)

    def arp_reply(self, t: float, sender_mac: str, sender_ip: str, to_ip: str) -> None:
        self.arp(t, ARP_REPLY, sender_mac, sender_ip, to_ip, mac_of(to_ip), mac_of(to_ip))

    def icmp(self, t: float, src: str, dst: str, message: bytes) -> None:
        packet = ipv4(src, dst, IPPROTO_ICMP, message)
        self.raw(t, ethernet(mac_of(dst), mac_of(src), 0x0800, packet, pad=True))

    def ping(self, t: float, src: str, dst: str, reply: bool = False) -> None:
        self.icmp(t, src, dst, icmp_echo(1, 1, reply=reply))

    def port_unreachable(self, t: float, host: str, prober: str, quoted: bytes) -> None:
        self.icmp(t, host, prober, icmp(3, 3, b"\0\0\0\0" + quoted))

    def write(self, path: Path) -> Path:
        with path.open("wb") as fh:
            writer = PcapWriter(fh)
            for t, frame in sorted(self.frames, key=lambda item: item[0]):
                writer.write(frame, round((T0 + t) * 1e9))
        return path


def detect(
    paths: Sequence[Path], detectors: Sequence[Detector[Any]], keep_raw: bool = True
) -> DetectionStage:
    """``detectors`` over the captures, through the whole pipeline."""
    stage = DetectionStage(detectors, keep_raw=keep_raw)
    result = run_files([str(p) for p in paths], build_stages([stage]))
    assert not result.errors, result.errors
    assert not stage.errors, stage.failures
    return stage


def kinds(alerts: Sequence[Alert]) -> list[str]:
    return [a.kind for a in alerts]


# ----------------------------------------------------------------------------- Modbus
def modbus(tid: int, pdu: bytes, unit: int = 1) -> bytes:
    return modbus_tcp_adu(tid, unit, pdu)


def modbus_diagnostics(sub: int, data: int = 0) -> bytes:
    return struct.pack(">BHH", 8, sub, data)


def modbus_device_id() -> bytes:
    return bytes([43, 14, 1, 0])


def modbus_poll(cap: Capture, t: float, client: str, server: str, tid: int, sport: int) -> None:
    """A read of two holding registers and its answer."""
    cap.exchange(t, client, server, sport, 502, modbus(tid, struct.pack(">BHH", 3, 0, 2)),
                 modbus(tid, bytes([3, 4, 0, 1, 0, 2])))


# ----------------------------------------------------------------------------- S7comm
def tpkt_dt(s7: bytes) -> bytes:
    payload = bytes([2, 0xF0, 0x80]) + s7
    return struct.pack("!BBH", 3, 0, 4 + len(payload)) + payload


def s7_job(ref: int, param: bytes, data: bytes = b"") -> bytes:
    return tpkt_dt(struct.pack("!BBHHHH", 0x32, 1, 0, ref, len(param), len(data)) + param + data)


def s7_ack(ref: int, function: int) -> bytes:
    head = struct.pack("!BBHHHH", 0x32, 3, 0, ref, 1, 0) + b"\0\0"
    return tpkt_dt(head + bytes([function]))


S7_PLC_STOP = b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM"
S7_PLC_START = b"\x28\x00\x00\x00\x00\x00\x00\xfd\x00\x00\x09P_PROGRAM"
S7_REQUEST_DOWNLOAD = b"\x1a\x00\x01\x00\x00\x00\x00\x00\x09_0A00001P\x0d1000128000094"
S7_READ_VAR = b"\x04\x01\x12\x0a\x10\x02\x00\x02\x00\x01\x84\x00\x00\x00"


def s7_write_var(value: int) -> tuple[bytes, bytes]:
    param = b"\x05\x01\x12\x0a\x10\x04\x00\x01\x00\x01\x84\x00\x00\x00"
    data = b"\x00\x04\x00\x10" + struct.pack("!H", value)
    return param, data


# ----------------------------------------------------------------------------- DNP3
def _crc(block: bytes) -> bytes:
    c = crc16(block)
    return bytes([c & 0xFF, c >> 8])


def dnp3_request(seq: int, function: int, objects: bytes = b"", src: int = 1,
                 dst: int = 10) -> bytes:
    """One link frame (unconfirmed user data, from a master) with one transport segment."""
    user = bytes([0xC0 | (seq & 0x3F)]) + bytes([0xC0 | (seq & 0x0F), function]) + objects
    header = b"\x05\x64" + bytes([5 + len(user), 0xC4]) + struct.pack("<HH", dst, src)
    out = header + _crc(header)
    for i in range(0, len(user), 16):
        out += user[i : i + 16] + _crc(user[i : i + 16])
    return out


# ----------------------------------------------------------------------------- EtherNet/IP
def enip_rr(cip: bytes, session: int = 0x1234) -> bytes:
    item_data = struct.pack("<IH", 0, 10) + struct.pack("<H", 2)
    item_data += struct.pack("<HH", 0, 0) + struct.pack("<HH", 0xB2, len(cip)) + cip
    return struct.pack("<HHII8sI", 0x6F, len(item_data), session, 0, b"ctx00001", 0) + item_data


def enip_register() -> bytes:
    return struct.pack("<HHII8sI", 0x65, 4, 0, 0, b"\0" * 8, 0) + struct.pack("<HH", 1, 0)


def enip_list_identity() -> bytes:
    return struct.pack("<HHII8sI", 0x63, 0, 0, 0, b"\0" * 8, 0)


def cip_request(service: int, class_id: int, instance: int, data: bytes = b"") -> bytes:
    path = bytes([0x20, class_id, 0x24, instance])
    return bytes([service, len(path) // 2]) + path + data


# ----------------------------------------------------------------------------- BACnet
def bacnet_confirmed(invoke: int, service: int, body: bytes) -> bytes:
    apdu = bytes([0x00, 0x05, invoke & 0xFF, service]) + body
    npdu = bytes([0x01, 0x04]) + apdu
    return bytes([0x81, 0x0A]) + struct.pack("!H", 4 + len(npdu)) + npdu


def bacnet_reinitialize(state: int = 0) -> bytes:
    return bytes([0x09, state])  # context tag 0, length 1: reinitialized-state


def bacnet_dcc(disable: int = 1, minutes: int = 5) -> bytes:
    return bytes([0x09, minutes, 0x19, disable])  # time-duration, enable-disable


# ----------------------------------------------------------------------------- IEC 104
def iec104_i(tx: int, rx: int, type_id: int, cause: int, ioa: int, element: bytes) -> bytes:
    asdu = bytes([type_id, 1, cause, 0]) + struct.pack("<H", 1) + ioa.to_bytes(3, "little")
    asdu += element
    return bytes([0x68, 4 + len(asdu)]) + struct.pack("<HH", tx << 1, rx << 1) + asdu


def iec104_startdt() -> bytes:
    return bytes([0x68, 4, 0x07, 0, 0, 0])
