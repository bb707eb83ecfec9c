"""DHCP and DHCPv6: what a client says about itself, and the address a server leases it.

Client messages (BOOTREQUEST) carry the client's host name (12, or the FQDN option 81), vendor
class (60) and parameter request list (55, kept in order as ``1,3,6,15``: the classic OS
fingerprint), all bound to the client hardware address; to an IP too when the client already
has one (``ciaddr``). An ACK binds the leased ``yiaddr`` to ``chaddr``. DHCP gives no Activity:
a lease is configuration *of* the client, not something it does to a server; the server's
offers and acks give one Activity each (client MAC -> server), which is how a DHCP server shows.
"""

from __future__ import annotations

from ...protocols.dhcp.events import DhcpMessage, Dhcpv6Message
from ..model import Activity, Fact
from ._common import NONE, Collector, Handler, hostname, usable_ip

SOURCE = "dhcp/client"
LEASE_SOURCE = "dhcp/lease"
CLIENT_OPTIONS = 50
LEASE = 70
V6_SOURCE = "dhcpv6/client"
# DHCPv6 messages a client sends (the rest come from servers and relays).
V6_CLIENT_TYPES = frozenset(
    {
        "solicit",
        "request",
        "confirm",
        "renew",
        "rebind",
        "release",
        "decline",
        "information-request",
    }
)


def message(event: DhcpMessage) -> tuple[Fact, ...]:
    mac = event.client_mac
    if event.op == "reply":
        if event.message_type_name not in ("offer", "ack") or mac is None:
            return NONE
        facts = Collector(event)
        if event.message_type_name == "ack":
            facts.bind_ip(event.yiaddr, LEASE_SOURCE, LEASE, mac)
        # The server configures the client: the one DHCP fact that says who serves, since the
        # reply, not the broadcast request, carries the server's address.
        server = usable_ip(event.server_id) or usable_ip(event.src_ip)
        if server is not None:
            facts.facts.append(
                Activity(
                    ts=event.ts,
                    protocol="dhcp",
                    category="other",
                    operation=f"lease-{event.message_type_name}",
                    client_mac=mac,
                    server_ip=server,
                    server_port=67,
                    transport="udp",
                    frame=event.frame,
                )
            )
        return facts.result()
    if event.op != "request":
        return NONE
    ip = usable_ip(event.ciaddr)
    if mac is None and ip is None:
        return NONE
    facts = Collector(event)
    if mac is not None and ip is not None:
        facts.observe("mac", mac, SOURCE, CLIENT_OPTIONS, ip=ip, mac=mac)
    # option 12 as sent (devices do put spaces in it); the FQDN only when it says more
    facts.observe("hostname", event.hostname, SOURCE, CLIENT_OPTIONS, ip=ip, mac=mac)
    if event.fqdn != event.hostname:
        facts.observe("hostname", hostname(event.fqdn), SOURCE, CLIENT_OPTIONS, ip=ip, mac=mac)
    facts.observe("dhcp_vendor_class", event.vendor_class, SOURCE, CLIENT_OPTIONS, ip=ip, mac=mac)
    if event.parameter_request_list:
        prl = ",".join(str(code) for code in event.parameter_request_list)
        facts.observe("dhcp_fingerprint", prl, SOURCE, CLIENT_OPTIONS, ip=ip, mac=mac)
    return facts.result()


def message_v6(event: Dhcpv6Message) -> tuple[Fact, ...]:
    """A client's own DHCPv6 message (not relayed): its link-local source is its address."""
    if event.message_type_name not in V6_CLIENT_TYPES:
        return NONE
    ip = event.src_ip
    facts = Collector(event)
    facts.observe("hostname", hostname(event.fqdn), V6_SOURCE, CLIENT_OPTIONS, ip=ip)
    if event.vendor_class:
        vendor_class = " ".join(event.vendor_class)
        facts.observe("dhcp_vendor_class", vendor_class, V6_SOURCE, CLIENT_OPTIONS, ip=ip)
    if event.option_request:
        oro = "v6:" + ",".join(str(code) for code in event.option_request)
        facts.observe("dhcp_fingerprint", oro, V6_SOURCE, CLIENT_OPTIONS, ip=ip)
    return facts.result()


HANDLERS: dict[type, Handler] = {DhcpMessage: message, Dhcpv6Message: message_v6}
