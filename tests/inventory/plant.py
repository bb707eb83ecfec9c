"""A small plant written as a pcap for inventory tests: real frames through the real pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from otsight.capture.writer import PcapWriter
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
    tcp_frame,
    udp_frame,
)

NS = 1_000_000_000


@dataclass
class Plant:
    """Frames in time order; helpers add whole conversations."""

    frames: list[tuple[int, bytes]] = field(default_factory=list)
    _seq: dict[tuple[str, int, str, int], int] = field(default_factory=dict)

    def add(self, t: float, frame: bytes) -> None:
        self.frames.append((int(t * NS), frame))

    def arp_reply(self, t: float, mac: str, ip: str, to_mac: str, to_ip: str) -> None:
        self.add(t, ethernet(to_mac, mac, ETH_ARP, arp(ARP_REPLY, mac, ip, to_mac, to_ip)))

    def arp_request(self, t: float, mac: str, ip: str, target_ip: str) -> None:
        body = arp(ARP_REQUEST, mac, ip, "00:00:00:00:00:00", target_ip)
        self.add(t, ethernet(BROADCAST_MAC, mac, ETH_ARP, body))

    def tcp_session(
        self,
        t: float,
        client: tuple[str, str],
        server: tuple[str, str],
        port: int,
        exchanges: list[tuple[bytes, bytes]],
        sport: int = 40000,
        client_dst_mac: str | None = None,
        server_src_mac: str | None = None,
    ) -> float:
        """Handshake, request/response pairs 10 ms apart, FIN. Returns the time after it."""
        cmac, cip = client
        smac, sip = server
        to_server = client_dst_mac or smac
        from_server = server_src_mac or smac
        c_seq, s_seq = 1000, 5000

        def c(flags: str, payload: bytes = b"") -> bytes:
            return tcp_frame(cip, sip, sport, port, seq=c_seq, ack=s_seq, flags=flags,
                             payload=payload, src_mac=cmac, dst_mac=to_server)

        def s(flags: str, payload: bytes = b"") -> bytes:
            return tcp_frame(sip, cip, port, sport, seq=s_seq, ack=c_seq, flags=flags,
                             payload=payload, src_mac=from_server, dst_mac=cmac)

        self.add(t, tcp_frame(cip, sip, sport, port, seq=c_seq - 1, flags="S", src_mac=cmac,
                              dst_mac=to_server))
        self.add(t + 0.001, tcp_frame(sip, cip, port, sport, seq=s_seq - 1, ack=c_seq,
                                      flags="SA", src_mac=from_server, dst_mac=cmac))
        t += 0.002
        for req, rsp in exchanges:
            self.add(t, c("PA", req))
            c_seq += len(req)
            self.add(t + 0.002, s("PA", rsp))
            s_seq += len(rsp)
            t += 0.01
        self.add(t, c("FA"))
        self.add(t + 0.001, s("FA"))
        return t + 0.01

    def udp(
        self, t: float, src: tuple[str, str], dst: tuple[str, str], sport: int, dport: int,
        payload: bytes,
    ) -> None:
        self.add(t, udp_frame(src[1], dst[1], sport, dport, payload, src_mac=src[0],
                              dst_mac=dst[0]))

    def write(self, path: Path) -> Path:
        with path.open("wb") as fh:
            w = PcapWriter(fh)
            for ts, frame in sorted(self.frames, key=lambda f: f[0]):
                w.write(frame, ts)
        return path


def modbus_polls(n: int, start_tid: int = 1) -> list[tuple[bytes, bytes]]:
    """``n`` read-holding-registers exchanges (2 registers at 0)."""
    out = []
    for i in range(n):
        tid = start_tid + i
        req = modbus_tcp_adu(tid, 1, modbus_read_request(3, 0, 2))
        rsp = modbus_tcp_adu(tid, 1, modbus_read_response(3, bytes.fromhex("00010002")))
        out.append((req, rsp))
    return out


def many_hosts(path: Path, hosts: int, plcs: int = 50) -> Path:
    """``hosts`` workstations (unique MAC and IP each), each polling one of ``plcs`` PLCs once
    over Modbus/TCP after an ARP request: a big, flat plant for memory and scale tests."""
    plant_macs = [f"00:80:f4:01:{i >> 8:02x}:{i & 0xFF:02x}" for i in range(plcs)]
    plant_ips = [f"10.1.{i >> 8}.{i & 0xFF}" for i in range(plcs)]
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        t = 0
        for h in range(hosts):
            mac = f"00:14:22:{h >> 16:02x}:{(h >> 8) & 0xFF:02x}:{h & 0xFF:02x}"
            hi, lo = divmod(h, 250)
            ip = f"10.{2 + hi // 250}.{hi % 250}.{lo + 1}"
            k = h % plcs
            pmac, pip = plant_macs[k], plant_ips[k]
            w.write(ethernet(BROADCAST_MAC, mac, ETH_ARP,
                             arp(ARP_REQUEST, mac, ip, "00:00:00:00:00:00", pip)), t)
            req = modbus_tcp_adu(1, 1, modbus_read_request(3, 0, 2))
            rsp = modbus_tcp_adu(1, 1, modbus_read_response(3, bytes(4)))
            frames = (
                tcp_frame(ip, pip, 40000, 502, seq=0, flags="S", src_mac=mac, dst_mac=pmac),
                tcp_frame(pip, ip, 502, 40000, seq=0, ack=1, flags="SA", src_mac=pmac,
                          dst_mac=mac),
                tcp_frame(ip, pip, 40000, 502, seq=1, ack=1, flags="PA", payload=req,
                          src_mac=mac, dst_mac=pmac),
                tcp_frame(pip, ip, 502, 40000, seq=1, ack=1 + len(req), flags="PA",
                          payload=rsp, src_mac=pmac, dst_mac=mac),
                tcp_frame(ip, pip, 40000, 502, seq=1 + len(req), ack=1 + len(rsp), flags="R",
                          src_mac=mac, dst_mac=pmac),
            )
            for f in frames:
                t += 100_000  # 0.1 ms apart
                w.write(f, t)
    return path
