"""What an asset does on the network, summarised for the role classifier.

A :class:`Profile` is built per asset from the ledger after identities are resolved: which
protocols it answers and to how many clients, which it uses and against how many servers, with
which kinds of operation (read, write, program...), which ports answered, and what it says about
itself. Rules in :mod:`otsight.inventory.classify` read only this, so adding a kind of evidence
means adding a field here and a rule there.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .facts.arp import BINDING as ARP_BINDING
from .facts.arp import SOURCE as ARP_SOURCE
from .ledger import EmptyConnections, Ledger, ObservationTally
from .resolve import Resolution, is_unicast_ip, subject_asset


@dataclass(slots=True)
class Profile:
    asset_id: str
    attributes: dict[str, str] = field(default_factory=dict)  # chosen identity values
    hostnames: list[str] = field(default_factory=list)
    vendor: str | None = None
    is_router: bool = False
    stp_bpdus: int = 0
    ethertypes: frozenset[int] = frozenset()  # industrial link-layer protocols it sends
    # protocol -> peers (asset ids, or raw addresses for peers that are not assets)
    serves: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    uses: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    served_ops: Counter[tuple[str, str]] = field(default_factory=Counter)  # (protocol, category)
    used_ops: Counter[tuple[str, str]] = field(default_factory=Counter)
    used_by_server: dict[str, Counter[str]] = field(default_factory=dict)  # server -> categories
    ports: dict[tuple[str, int], int] = field(default_factory=dict)  # answered -> clients
    client_ports: Counter[tuple[str, int]] = field(default_factory=Counter)  # connected to
    arp_targets: int = 0  # distinct addresses it asked ARP for (hundreds: a sweep)
    probed_hosts: int = 0  # distinct addresses it tried that did not answer
    probed_ports: int = 0
    # address -> (its owner's MAC, ARP messages): addresses it stated as its own in ARP while
    # the device owning them went on stating them too (spoofing, not a hand-over)
    arp_claims: dict[str, tuple[str, int]] = field(default_factory=dict)
    # (server, port) -> TCP connections it opened there that carried no data either way
    empty_connections: dict[tuple[str, int], EmptyConnections] = field(default_factory=dict)

    def serves_any(self, *protocols: str) -> int:
        """Distinct clients over the given protocols."""
        peers: set[str] = set()
        for p in protocols:
            peers |= self.serves.get(p, set())
        return len(peers)

    def uses_any(self, *protocols: str) -> int:
        peers: set[str] = set()
        for p in protocols:
            peers |= self.uses.get(p, set())
        return len(peers)

    def ops(self, category: str, protocols: frozenset[str] | None = None) -> int:
        return sum(
            n
            for (p, c), n in self.used_ops.items()
            if c == category and (protocols is None or p in protocols)
        )

    def port_clients(self, *ports: int) -> int:
        return sum(n for (_t, port), n in self.ports.items() if port in ports)


def build_profiles(
    ledger: Ledger,
    res: Resolution,
    stp: dict[str, int],
    ethertypes: dict[str, frozenset[int]] | None = None,
) -> dict[str, Profile]:
    """One profile per resolved asset (``stp``: BPDUs sent per asset id; ``ethertypes``:
    industrial link-layer protocols sent per asset id)."""
    profiles = {aid: Profile(aid) for aid in res.identities}
    for aid, ident in res.identities.items():
        profiles[aid].is_router = ident.is_router
        profiles[aid].stp_bpdus = stp.get(aid, 0)
    for aid, types in (ethertypes or {}).items():
        profiles[aid].ethertypes = types
    for (client, server, protocol, category, _op), tally in ledger.activities.items():
        caid = subject_asset(client, res)
        if protocol == "arp":  # resolution, not use of a service: only the sweep width counts
            if caid is not None:
                profiles[caid].arp_targets += 1
            continue
        said = subject_asset(server, res)
        cname: str = caid or client[1]
        sname: str = said or server[1]
        if said is not None:
            prof = profiles[said]
            prof.serves[protocol].add(cname)
            prof.served_ops[(protocol, category)] += tally.count
        if caid is not None:
            prof = profiles[caid]
            prof.used_ops[(protocol, category)] += tally.count
            # A broadcast Who-Is or M-SEARCH is not a peer: count the operation, not the address.
            if said is not None or server[0] == "mac" or is_unicast_ip(server[1]):
                prof.uses[protocol].add(sname)
                prof.used_by_server.setdefault(sname, Counter())[category] += tally.count
    for ip, pr in ledger.probes.items():
        prober = res.by_ip.get(ip)
        if prober is not None:
            profiles[prober].probed_hosts += len(pr.targets)
            profiles[prober].probed_ports = max(profiles[prober].probed_ports, len(pr.ports))
    for (client_ip, server_ip, port), ec in ledger.empty.items():
        caid = res.by_ip.get(client_ip)
        if caid is not None:
            profiles[caid].empty_connections[(server_ip, port)] = ec
    _arp_claims(ledger, res, profiles)
    for (server_ip, transport, port), pt in ledger.ports.items():
        said = res.by_ip.get(server_ip)
        if said is not None:
            prof = profiles[said]
            prof.ports[(transport, port)] = prof.ports.get((transport, port), 0) + len(pt.clients)
        for client_ip in pt.clients:
            caid = res.by_ip.get(client_ip)
            if caid is not None:
                profiles[caid].client_ports[(transport, port)] += 1
    return profiles


def _arp_claims(ledger: Ledger, res: Resolution, profiles: dict[str, Profile]) -> None:
    """Addresses a device stated as its own in ARP that belong to another device (resolution
    gave them to it), which stated them in ARP during the same time: two devices answering for
    one address at once. Not counted: routers (proxy ARP), a device with no address of its own
    besides the claimed one (a duplicate or a replacement), claims that do not overlap the
    owner's (an address handed over, a cluster's failover)."""
    stated: dict[str, dict[str, ObservationTally]] = {}  # ip -> mac -> ARP sender tally
    for (subject, attribute, value, source), tally in ledger.observations.items():
        # A sender MAC that is not the frame's source (mismatch) says nothing of that frame's
        # sender: only first-hand statements count.
        if (
            attribute == "ip"
            and source == ARP_SOURCE
            and subject[0] == "mac"
            and tally.reliability >= ARP_BINDING
        ):
            stated.setdefault(value, {})[subject[1]] = tally
    for ip, by_mac in stated.items():
        owner = res.by_ip.get(ip)
        if owner is None or len(by_mac) < 2:
            continue
        owner_macs = [m for m in res.identities[owner].macs if m in by_mac]
        if not owner_macs:
            continue
        own_first = min(by_mac[m].first_ts for m in owner_macs)
        own_last = max(by_mac[m].last_ts for m in owner_macs)
        for mac, tally in by_mac.items():
            claimer = res.by_mac.get(mac)
            if claimer is None or claimer == owner:
                continue
            ident = res.identities[claimer]
            if ident.is_router or all(x == ip for x in ident.ips):
                continue
            if tally.first_ts > own_last or tally.last_ts < own_first:
                continue
            profiles[claimer].arp_claims[ip] = (owner_macs[0], tally.count)
