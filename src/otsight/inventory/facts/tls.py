"""TLS: who a certificate names, the client's JA4 fingerprint, the server name a client asks for.

A certificate at position 0 is its sender's own. Its subject CN is a host name when it looks like
one (wildcards and IP literals are skipped), else a device name (device-made certificates are
often named after the product or station). Its subject O is a vendor only when the certificate
is self-signed (a device-generated one); a CA-issued O is the owner, not the maker. The SNI of a
ClientHello names the server as the client knows it. Both are kept for site-local addresses
only, like DNS names: every HTTPS connection to the internet would add names otherwise. A
ClientHello opens a TLS session: ``session`` from the client to the server.
"""

from __future__ import annotations

from ...protocols.tls.events import TlsCertificate, TlsClientHello
from ..model import Fact
from ._common import NONE, Collector, Handler, activity, hostname, is_address, is_local

CERT_SOURCE = "tls/certificate"
JA4_SOURCE = "tls/ja4"
SNI_SOURCE = "tls/server-name"
CERTIFICATE = 60
JA4 = 60
SNI = 40
SELF_SIGNED_VENDOR = 50


def client_hello(event: TlsClientHello) -> tuple[Fact, ...]:
    facts = Collector(event)
    facts.add(activity(event, "session"))
    facts.observe("ja4", event.ja4, JA4_SOURCE, JA4, ip=event.src_ip)
    if event.server_name and is_local(event.dst_ip):
        facts.observe("hostname", hostname(event.server_name), SNI_SOURCE, SNI, ip=event.dst_ip)
    return facts.result()


def certificate(event: TlsCertificate) -> tuple[Fact, ...]:
    if event.position != 0 or not is_local(event.src_ip):
        return NONE  # a CA's certificate, or an internet server's (names of those are no inventory)
    facts = Collector(event)
    ip = event.src_ip
    cn = event.subject_cn
    if cn and not cn.startswith("*") and not is_address(cn) and cn.lower() != "localhost":
        name = hostname(cn)
        if name is not None and "." in name:
            facts.observe("hostname", name, CERT_SOURCE, CERTIFICATE, ip=ip)
        else:
            facts.observe("device_name", cn, CERT_SOURCE, CERTIFICATE, ip=ip)
    if event.self_signed:
        facts.observe("vendor", event.subject_o, CERT_SOURCE, SELF_SIGNED_VENDOR, ip=ip)
    return facts.result()


HANDLERS: dict[type, Handler] = {TlsClientHello: client_hello, TlsCertificate: certificate}
