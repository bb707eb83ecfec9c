"""The lab's DHCP: a dnsmasq server in its namespace and ISC dhclient on the leasing host.

dnsmasq serves DHCP on the plant interface only (``--bind-interfaces --interface=eth0``), reads
no configuration, hosts or resolv.conf, and has no upstream DNS server (so it never forwards a
query); it pins the leasing host's MAC to its truth.json address. dhclient sends the host name
(option 12) and a vendor class (option 60), and applies the lease with a small script that only
sets the address (no routes, no ``/etc/resolv.conf``: the namespaces share the host's ``/etc``).
"""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

DNSMASQ_READY = "DHCP, IP range"

DHCLIENT_SCRIPT = """\
#!/bin/sh
# otsight lab: apply a dhclient lease to the interface; nothing else (no routes, no resolv.conf).
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT)
    [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ] && \\
      ip -4 addr del "$old_ip_address/$new_subnet_mask" dev "$interface" 2>/dev/null
    ip -4 addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    ;;
  EXPIRE|FAIL|RELEASE|STOP)
    [ -n "$old_ip_address" ] && ip -4 addr del "$old_ip_address/$old_subnet_mask" \\
      dev "$interface" 2>/dev/null
    ;;
esac
exit 0
"""


def dhcp_tools_missing() -> list[str]:
    """The binaries (dnsmasq, dhclient) that are not on PATH."""
    return [tool for tool in ("dnsmasq", "dhclient") if shutil.which(tool) is None]


def dnsmasq_argv(server_ip: str, network: str, pinned: list[tuple[str, str]], lease_s: int,
                 workdir: Path, domain: str = "plant.lab") -> list[str]:
    """dnsmasq in the foreground, DHCP on ``eth0`` only; ``pinned``: (mac, ip) reservations.

    The dynamic range is the upper part of ``network`` (.100-.149 of a /24); every pinned
    address must lie in ``network``.
    """
    net = ipaddress.ip_network(network)
    if ipaddress.ip_address(server_ip) not in net:
        raise ValueError(f"{server_ip} is not in {network}")
    if lease_s < 120:
        raise ValueError("dnsmasq leases are at least 120 s")
    first, last = net.network_address + 100, net.network_address + 149
    argv = [
        "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
        "--no-poll", "--interface=eth0", "--except-interface=lo", "--bind-interfaces",
        f"--listen-address={server_ip}", f"--domain={domain}", f"--local=/{domain}/",
        f"--dhcp-range={first},{last},{net.netmask},{lease_s}s", "--dhcp-authoritative",
        "--dhcp-option=3", "--log-facility=-", "--log-dhcp", "--user=root", "--group=root",
        f"--dhcp-leasefile={workdir / 'dnsmasq.leases'}", f"--pid-file={workdir / 'dnsmasq.pid'}",
    ]
    for mac, ip in pinned:
        if ipaddress.ip_address(ip) not in net:
            raise ValueError(f"{ip} is not in {network}")
        argv.append(f"--dhcp-host={mac},{ip}")
    return argv


def dhclient_conf(hostname: str, vendor_class: str) -> str:
    """dhclient.conf sending host name (option 12) and vendor class identifier (option 60)."""
    for value in (hostname, vendor_class):
        if not value or any(c in value for c in '"\\\n;'):
            raise ValueError(f"bad DHCP option value {value!r}")
    return (f'send host-name "{hostname}";\n'
            f'send vendor-class-identifier "{vendor_class}";\n'
            "request subnet-mask, broadcast-address, domain-name, domain-name-servers;\n"
            "timeout 20;\nretry 5;\n")


def dhclient_argv(workdir: Path, iface: str = "eth0") -> list[str]:
    """ISC dhclient in the foreground (ended at teardown), files under ``workdir``."""
    return ["dhclient", "-4", "-d", "-v", "-cf", str(workdir / "dhclient.conf"),
            "-lf", str(workdir / "dhclient.leases"), "-pf", str(workdir / "dhclient.pid"),
            "-sf", str(workdir / "dhclient-script"), iface]


def write_dhclient_files(workdir: Path, hostname: str, vendor_class: str) -> None:
    (workdir / "dhclient.conf").write_text(dhclient_conf(hostname, vendor_class))
    script = workdir / "dhclient-script"
    script.write_text(DHCLIENT_SCRIPT)
    script.chmod(0o755)
    (workdir / "dhclient.leases").touch()
