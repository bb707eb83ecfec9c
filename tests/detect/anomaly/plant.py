"""Hand-made plant captures for the anomaly tests, and a runner through the real pipeline."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from pathlib import Path

from otsight.capture.writer import PcapWriter
from otsight.pipeline.assemble import build_stages, run_files
from otsight.testing.collect import AlertSource, Collect
from otsight.testing.packets import (
    ARP_REPLY,
    ARP_REQUEST,
    BROADCAST_MAC,
    ETH_ARP,
    arp,
    ethernet,
    modbus_read_request,
    modbus_read_response,
    modbus_tcp_adu,
    modbus_write_single_register,
    tcp_frame,
)

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
HMI, PLC, PLC2, ATK = "192.0.2.20", "192.0.2.10", "192.0.2.11", "192.0.2.66"
MACS = {HMI: "00:14:22:5e:a0:10", PLC: "00:80:f4:3a:1c:01", PLC2: "00:30:de:0b:44:02",
        ATK: "b8:27:eb:9d:3e:66"}


class Capture:
    """Frames at capture times (seconds after T0), TCP sequence numbers kept per direction."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, bytes]] = []
        self._seq: dict[tuple[str, int, str, int], int] = {}

    def tcp(self, t: float, src: str, dst: str, sport: int, dport: int, payload: bytes = b"",
            flags: str = "PA") -> None:
        key = (src, sport, dst, dport)
        seq = self._seq.get(key, 1000)
        ack = self._seq.get((dst, dport, src, sport), 1000)
        self.frames.append((t, tcp_frame(src, dst, sport, dport, seq=seq, ack=ack, flags=flags,
                                         payload=payload, src_mac=MACS[src],
                                         dst_mac=MACS[dst])))
        self._seq[key] = seq + len(payload) + (1 if "S" in flags or "F" in flags else 0)

    def read(self, t: float, client: str, server: str, tid: int, address: int,
             values: Sequence[int], sport: int = 40000, function: int = 3) -> None:
        """A register read and its answer 10 ms later."""
        request = modbus_read_request(function, address, len(values))
        data = struct.pack(f">{len(values)}H", *values)
        self.tcp(t, client, server, sport, 502, modbus_tcp_adu(tid, 1, request))
        self.tcp(t + 0.01, server, client, 502, sport,
                 modbus_tcp_adu(tid, 1, modbus_read_response(function, data)))

    def write(self, t: float, client: str, server: str, tid: int, address: int, value: int,
              sport: int = 40000) -> None:
        pdu = modbus_write_single_register(address, value)
        self.tcp(t, client, server, sport, 502, modbus_tcp_adu(tid, 1, pdu))
        self.tcp(t + 0.01, server, client, 502, sport, modbus_tcp_adu(tid, 1, pdu))

    def arp(self, t: float, op: int, sender_mac: str, sender_ip: str, target_ip: str) -> None:
        target_mac = "00:00:00:00:00:00" if op == ARP_REQUEST else MACS[target_ip]
        eth_dst = BROADCAST_MAC if op == ARP_REQUEST else MACS[target_ip]
        body = arp(op, sender_mac, sender_ip, target_mac, target_ip)
        self.frames.append((t, ethernet(eth_dst, sender_mac, ETH_ARP, body, pad=True)))

    def lldp(self, t: float, src: str) -> None:
        """A link-layer frame outside IP (LLDP ethertype, minimal body)."""
        body = bytes([0x02, 0x07, 0x04]) + bytes.fromhex(MACS[src].replace(":", "")) + b"\0\0"
        self.frames.append((t, ethernet("01:80:c2:00:00:0e", MACS[src], 0x88CC, body, pad=True)))

    def save(self, path: Path, start: float = -math.inf, end: float = math.inf) -> Path:
        """Write the frames with ``start <= t < end`` (one capture cut in two keeps its TCP
        sequence numbers continuous)."""
        with path.open("wb") as fh:
            writer = PcapWriter(fh)
            for t, frame in sorted(self.frames, key=lambda item: item[0]):
                if start <= t < end:
                    writer.write(frame, round((T0 + t) * 1e9))
        return path


def level(t: float) -> int:
    """A slowly moving process value between 100 and 140."""
    return 120 + round(20 * math.sin(t / 30.0))


def polling(cap: Capture, start: float, end: float, period: float = 1.0) -> None:
    """The HMI polls PLC register 12 (and PLC2's 0-1) every ``period`` seconds; ARP and LLDP
    chatter now and then."""
    tid, t = 1, start
    while t < end:
        cap.read(t, HMI, PLC, tid, 12, [level(t)])
        cap.read(t + 0.2, HMI, PLC2, tid, 0, [800, 200], sport=40001)
        if tid % 20 == 0:
            cap.arp(t + 0.5, ARP_REQUEST, MACS[HMI], HMI, PLC)
            cap.arp(t + 0.51, ARP_REPLY, MACS[PLC], PLC, HMI)
        if tid % 30 == 0:
            cap.lldp(t + 0.7, PLC)
        tid += 1
        t += period


def run(paths: Sequence[Path], detector: AlertSource) -> Collect:
    collect = Collect(detector)
    result = run_files([str(p) for p in paths], build_stages([collect]))
    assert not result.summary.observer_errors, result.summary.observer_errors
    return collect
