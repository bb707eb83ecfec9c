"""The shared helpers: string cleaning, addresses, host names, OS and firmware hints."""

from __future__ import annotations

import pytest

from otsight.inventory.facts._common import (
    MAX_TEXT,
    firmware_hint,
    hostname,
    is_local,
    os_hint,
    text,
    usable_ip,
)


def test_text_cleans_hostile_strings() -> None:
    assert text("  PLC_1\x00\x00\x00") == "PLC_1"
    assert text("6ES7 315-2EH14-0AB0 ") == "6ES7 315-2EH14-0AB0"  # inner spacing kept
    assert text("evil\x1b[31mred\r\nline") == "evil [31mred line"
    assert text("\x00\x01\x02") is None
    assert text("") is None
    assert text(None) is None
    assert text(b"bytes are not text") is None
    assert text(58) == "58"
    assert text("\ufffd\ufffd") is None  # undecodable bytes only
    long = text("A" * 100_000)
    assert long is not None
    assert len(long) == MAX_TEXT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("fe80::1", "fe80::1"),
        ("2001:DB8::0001", "2001:db8::1"),
        ("0.0.0.0", None),
        ("255.255.255.255", None),
        ("224.0.0.251", None),
        ("127.0.0.1", None),
        ("::", None),
        ("plc-7", None),
        ("", None),
        (None, None),
        (3232235777, None),
    ],
)
def test_usable_ip(value: object, expected: str | None) -> None:
    assert usable_ip(value) == expected


def test_is_local() -> None:
    assert is_local("10.1.2.3")
    assert is_local("192.168.0.6")
    assert is_local("fe80::1")
    assert is_local("fd00::7")
    assert not is_local("93.184.216.34")
    assert not is_local("8.8.8.8")
    assert not is_local("0.0.0.0")
    assert not is_local(None)


def test_hostname() -> None:
    assert hostname("historian.plant.local.") == "historian.plant.local"
    assert hostname("PLC-7") == "PLC-7"
    assert hostname("my host") is None
    assert hostname("192.0.2.10") is None
    assert hostname("1.2.3") is None
    assert hostname("fe80::1") is None
    assert hostname("-bad") is None
    assert hostname("a" * 300) is None


@pytest.mark.parametrize(
    ("banner", "expected"),
    [
        ("OpenSSH_8.9p1 Ubuntu-3ubuntu0.1", "Ubuntu"),
        ("Apache/2.4.41 (Win64) OpenSSL/1.1.1", "Windows"),
        ("Microsoft-IIS/10.0", "Windows"),
        ("Mozilla/5.0 (Windows NT 6.1; WinCE)", "Windows CE"),
        ("Mozilla/5.0 (Linux; Android 13; Pixel 7)", "Android"),
        ("Linux/3.10 UPnP/1.0 IPCam/2.1", "Linux"),
        ("Cisco IOS Software, C2960 Software, Version 12.2(50)SE1", "Cisco IOS"),
        ("Cisco IOS-XE Software, Version 16.9.4", "Cisco IOS XE"),
        ("Welcome to VxWorks 6.9", "VxWorks"),
        ("nginx/1.18.0", None),
        ("Boa/0.94.13", None),
        ("", None),
        (None, None),
    ],
)
def test_os_hint(banner: str | None, expected: str | None) -> None:
    assert os_hint(banner) == expected


def test_firmware_hint() -> None:
    desc = "Siemens, SIMATIC NET, SCALANCE X204-2, 6GK5 204-2BB10-2AA3, HW: 4, FW: V4.1.0"
    assert firmware_hint(desc) == "V4.1.0"
    assert firmware_hint("SCALANCE XC208, FW: Version V04.01.00, HW 2") == "V04.01.00"
    assert firmware_hint("Firmware 2.4.1 build 7") == "2.4.1"
    cisco = "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 12.2(50)SE1, RELEASE"
    assert firmware_hint(cisco) is None  # "Version" alone only when asked for (loose)
    assert firmware_hint(cisco, loose=True) == "12.2(50)SE1"
    assert firmware_hint("Linux gw 5.10.0 armv7l") is None
    assert firmware_hint(None) is None
