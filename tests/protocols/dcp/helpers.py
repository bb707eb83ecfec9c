"""Profinet DCP frame builders shared by the dissector and inventory-facts tests."""

from __future__ import annotations

import struct


def block(opt: int, sub: int, value: bytes) -> bytes:
    raw = struct.pack("!BBH", opt, sub, len(value)) + value
    return raw + b"\0" * (len(value) & 1)


def dcp(frame_id: int, sid: int, stype: int, xid: int, blocks: bytes, delay: int = 0) -> bytes:
    return struct.pack("!HBBIHH", frame_id, sid, stype, xid, delay, len(blocks)) + blocks


def ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))
