"""From addresses and facts to devices: one asset per real device, never one per address.

The rules, in order:
1. Each IP belongs to one MAC, its *owner*: the MAC that carries it most, ARP/DHCP/DCP bindings
   adding a little (a spoofer's gratuitous replies and relayed packets lose to the victim's own
   traffic, which goes on before, during and after the attack; repeated replies add nothing).
2. A MAC owning three or more IPv4 addresses that no ARP/DHCP fact binds to it is a *router*
   (or a gateway, firewall, NAT): one asset flagged as routing, and the hosts behind it become
   assets of their own, identified by IP.
3. Every other unicast MAC that sent frames is one asset holding all the IPs it owns or leased
   (DHCP lease changes and dual-stack addresses stay on one device).
4. An IP with no MAC of its own (behind a router, or a capture without link layer) is an asset
   when it is a local address, or when it offered an industrial service or identified itself;
   remote internet endpoints are counted, not inventoried.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from ..core.types import ip_from_words, mac_to_str
from .addresses import AddressBook
from .ledger import Ledger, ObservationTally, Subject

ROUTER_MIN_IPS = 3
BINDING_SOURCE_WEIGHT = 5  # a protocol stating a binding counts like this many packets, once
OT_PROTOCOLS = frozenset(
    {"modbus", "dnp3", "s7comm", "s7comm_plus", "enip", "cip", "bacnet", "iec104", "opcua", "dcp"}
)


@dataclass(slots=True)
class Identity:
    """The addresses of one asset-to-be."""

    asset_id: str
    macs: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    is_router: bool = False
    first_seen: float = 0.0
    last_seen: float = 0.0
    packets: int = 0
    bytes: int = 0


@dataclass(slots=True)
class Resolution:
    identities: dict[str, Identity]
    by_ip: dict[str, str]  # ip -> asset id
    by_mac: dict[str, str]  # mac -> asset id
    external: int = 0  # remote endpoints seen but not inventoried


@lru_cache(maxsize=65536)
def is_local_ip(ip: str) -> bool:
    """Private, link-local or unique-local: inside a site, not on the internet."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return bool(addr.is_private or addr.is_link_local) and not addr.is_loopback


@lru_cache(maxsize=65536)
def is_unicast_ip(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback:
        return False
    return not (addr.version == 4 and (ip.endswith(".255") or ip == "255.255.255.255"))


def resolve(book: AddressBook, ledger: Ledger) -> Resolution:
    """Group addresses into asset identities (see the module docstring for the rules)."""
    # Packets per (mac, ip), and bindings stated by protocol facts.
    carried: dict[str, dict[str, int]] = defaultdict(dict)  # ip -> mac -> packets sent
    for (m, hi, lo), bnd in book.bindings.items():
        if bnd.sent == 0:
            continue
        ip = ip_from_words(hi, lo)
        if not is_unicast_ip(ip):
            continue
        mac = mac_to_str(m)
        carried[ip][mac] = carried[ip].get(mac, 0) + bnd.sent
    stated: dict[str, dict[str, int]] = defaultdict(dict)  # ip -> mac -> sources binding them
    leased: dict[str, set[str]] = defaultdict(set)  # ip -> macs a DHCP server gave it to
    for (subject, attribute, value, source) in ledger.observations:
        if attribute == "ip" and subject[0] == "mac" and is_unicast_ip(value):
            stated[value][subject[1]] = stated[value].get(subject[1], 0) + 1
            if source.startswith("dhcp"):
                leased[value].add(subject[1])

    owner: dict[str, str] = {}
    for ip in set(carried) | set(stated):
        scores: dict[str, int] = dict(carried.get(ip, {}))
        for mac, n in stated.get(ip, {}).items():
            scores[mac] = scores.get(mac, 0) + BINDING_SOURCE_WEIGHT * n
        owner[ip] = max(sorted(scores), key=lambda m: scores[m])

    owned: dict[str, list[str]] = defaultdict(list)
    for ip, mac in owner.items():
        owned[mac].append(ip)
    routers: set[str] = set()
    for mac, ips in owned.items():
        unbound = [ip for ip in ips if "." in ip and mac not in stated.get(ip, {})]
        if len(unbound) >= ROUTER_MIN_IPS:
            routers.add(mac)

    identities: dict[str, Identity] = {}
    by_ip: dict[str, str] = {}
    by_mac: dict[str, str] = {}
    for m, presence in book.macs.items():
        mac = mac_to_str(m)
        ident = Identity(
            f"mac:{mac}", [mac], first_seen=presence.first_ts, last_seen=presence.last_ts
        )
        ident.packets, ident.bytes = presence.packets, presence.bytes
        ident.is_router = mac in routers
        identities[ident.asset_id] = ident
        by_mac[mac] = ident.asset_id
    # MACs known only from facts (a DCP-configured device that never sent itself, say) are not
    # devices we saw: they join only through a frame of their own.
    behind: list[str] = []
    for ip, mac in owner.items():
        aid = by_mac.get(mac)
        if aid is None:
            behind.append(ip)
            continue
        if mac in routers and mac not in stated.get(ip, {}):
            behind.append(ip)  # a host behind the router: identified by IP
            continue
        identities[aid].ips.append(ip)
        by_ip[ip] = aid
    # DHCP leases keep every address a MAC held on that device, even if another owns it now.
    for ip, macs in leased.items():
        for mac in macs:
            aid = by_mac.get(mac)
            if aid is not None and mac not in routers and ip not in identities[aid].ips:
                identities[aid].ips.append(ip)

    ot_servers = _ot_servers(ledger)
    self_described = {s[1] for (s, attr, _v, _src) in ledger.observations if s[0] == "ip"}
    external = 0
    for ip in sorted(set(behind) | _ip_only(ledger, owner)):
        traffic = ledger.traffic.get(ip)
        if not is_unicast_ip(ip) or (traffic is not None and traffic.sent == 0 and ip not in owner):
            continue
        if not (is_local_ip(ip) or ip in ot_servers or ip in self_described):
            external += 1
            continue
        ident = Identity(f"ip:{ip}", [], [ip])
        if traffic is not None:
            ident.first_seen, ident.last_seen = traffic.first_ts, traffic.last_ts
            ident.packets, ident.bytes = traffic.packets, traffic.bytes
        identities[ident.asset_id] = ident
        by_ip[ip] = ident.asset_id
    for ident in identities.values():
        ident.ips.sort(key=_ip_sort_key)
        for ip in ident.ips:
            traffic = ledger.traffic.get(ip)
            if traffic is not None and not ident.asset_id.startswith("ip:"):
                ident.first_seen = min(ident.first_seen or traffic.first_ts, traffic.first_ts)
                ident.last_seen = max(ident.last_seen, traffic.last_ts)
    return Resolution(identities, by_ip, by_mac, external)


def _ip_only(ledger: Ledger, owner: dict[str, str]) -> set[str]:
    """Addresses that sent packets but were never seen with a MAC (no link layer, tunnels)."""
    return {ip for ip, tr in ledger.traffic.items() if tr.sent > 0 and ip not in owner}


def _ot_servers(ledger: Ledger) -> set[str]:
    out: set[str] = set()
    for (_client, server, protocol, _cat, _op) in ledger.activities:
        if server[0] == "ip" and protocol in OT_PROTOCOLS:
            out.add(server[1])
    return out


def _ip_sort_key(ip: str) -> tuple[int, str]:
    return (0 if "." in ip else 1, ip)


def subject_asset(subject: Subject, res: Resolution) -> str | None:
    """The asset a fact's subject belongs to."""
    kind, value = subject
    return res.by_mac.get(value) if kind == "mac" else res.by_ip.get(value)


def tallies_by_asset(ledger: Ledger, res: Resolution) -> dict[str, list[ObservationTally]]:
    """Observations grouped by the asset they describe (facts about unknown subjects dropped).

    A fact about a MAC is about that device; a fact about an IP goes to the asset owning the IP
    (for a router, the host behind it, if that host is an asset).
    """
    out: dict[str, list[ObservationTally]] = defaultdict(list)
    for (subject, _attr, _value, _src), tally in ledger.observations.items():
        aid = subject_asset(subject, res)
        if aid is None and subject[0] == "mac":
            continue
        if aid is not None:
            out[aid].append(tally)
    return out
