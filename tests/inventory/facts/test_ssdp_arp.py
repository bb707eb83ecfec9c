"""SSDP and ARP facts: UPnP announcements and M-SEARCH; address bindings of ARP senders."""

from __future__ import annotations

from pathlib import Path

from otsight.testing.packets import ARP_REPLY, ARP_REQUEST, arp, ethernet, udp_frame

from .helpers import CLIENT, acts, facts, observed

CAMERA = "192.0.2.50"
SSDP_GROUP = "239.255.255.250"


def test_ssdp_announcements_and_search(tmp_path: Path) -> None:
    search = (
        b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
        b"MX: 2\r\nST: ssdp:all\r\n\r\n"
    )
    notify = (
        b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
        b"LOCATION: http://192.0.2.50:49152/desc.xml\r\n"
        b"NT: urn:schemas-upnp-org:device:DigitalSecurityCamera:1\r\nNTS: ssdp:alive\r\n"
        b"SERVER: Linux/3.10 UPnP/1.0 IPCam/2.1\r\n"
        b"USN: uuid:1234::urn:schemas-upnp-org:device:DigitalSecurityCamera:1\r\n\r\n"
    )
    root = notify.replace(
        b"urn:schemas-upnp-org:device:DigitalSecurityCamera:1", b"upnp:rootdevice"
    )
    frames = [
        udp_frame(CLIENT, SSDP_GROUP, 50000, 1900, search),
        udp_frame(CAMERA, SSDP_GROUP, 1900, 1900, notify),
        udp_frame(CAMERA, SSDP_GROUP, 1900, 1900, root),
    ]
    found = facts(tmp_path, frames)
    assert observed(found) == {
        ("application", "Linux/3.10 UPnP/1.0 IPCam/2.1", CAMERA, None, 60),
        ("os", "Linux", CAMERA, None, 40),
        ("device_type", "DigitalSecurityCamera", CAMERA, None, 60),
    }
    assert acts(found) == [("ssdp", "discovery", "m-search", CLIENT, SSDP_GROUP)]


def test_arp_bindings(tmp_path: Path) -> None:
    hmi, plc, attacker = "00:14:22:5e:a0:10", "00:80:f4:3a:1c:01", "de:ad:be:ef:00:01"
    frames = [
        ethernet("ff:ff:ff:ff:ff:ff", hmi, 0x0806, arp(ARP_REQUEST, hmi, "192.0.2.20",
                                                        "00:00:00:00:00:00", "192.0.2.10")),
        ethernet(hmi, plc, 0x0806, arp(ARP_REPLY, plc, "192.0.2.10", hmi, "192.0.2.20")),
        # a probe: the sender has no address yet
        ethernet("ff:ff:ff:ff:ff:ff", plc, 0x0806, arp(ARP_REQUEST, plc, "0.0.0.0",
                                                        "00:00:00:00:00:00", "192.0.2.10")),
        # a reply whose claimed sender is not the frame's source
        ethernet(hmi, attacker, 0x0806, arp(ARP_REPLY, plc, "192.0.2.10", hmi, "192.0.2.20")),
    ]  # fmt: skip
    found = facts(tmp_path, frames)
    assert observed(found) == {
        ("ip", "192.0.2.20", "192.0.2.20", hmi, 70),
        ("ip", "192.0.2.10", "192.0.2.10", plc, 70),
        ("ip", "192.0.2.10", "192.0.2.10", plc, 30),
    }
    # Requests are discovery towards the address asked for (a sweep shows as hundreds of them);
    # the probe, which has no sender address, is not.
    assert acts(found) == [("arp", "discovery", "who-has", "192.0.2.20", "192.0.2.10")]
