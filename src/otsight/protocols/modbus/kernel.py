"""Compiled Modbus/TCP for regular polling: whole ADUs per segment, common function codes.

One call handles the payload of many packets of claimed flows ("lanes"). It parses the MBAP
header and the PDU fields of function codes 1-6, 15 and 16 (and exception responses) into
row columns and pairs responses with requests exactly as :class:`ModbusDissector` does (same
pending table order, same timeout eviction). A payload it cannot handle whole (a partial or
malformed ADU, another function code, a full pending table) is refused before anything of it
is applied, and so is every later payload of that lane in the call: the dissector takes them,
in order, with the state this kernel leaves.
"""

from __future__ import annotations

from typing import Any

from ...core.jit import kernel
from ...core.rd import rd16be
from .parser import MAX_ADU, MAX_VALUES, MBAP_LEN

REQUEST = 0
RESPONSE = 1
NONE = -1  # an absent integer field (None in the event)
COIL_ON = 0xFF00


@kernel
def _request_ok(fc: int, body: int) -> bool:
    """A request the kernel handles whole: FC 1-6 (4 bytes of fields), 15/16 (5 or more)."""
    if 1 <= fc <= 6:
        return body >= 4
    if fc == 15 or fc == 16:
        return body >= 5
    return False


@kernel
def _response_ok(fc: int, body: int) -> bool:
    """A response the kernel handles whole: exceptions, FC 1-4 (byte count), 5/6/15/16 (4)."""
    if fc & 0x80:
        return body >= 1
    if 1 <= fc <= 4:
        return body >= 1
    if fc == 5 or fc == 6 or fc == 15 or fc == 16:
        return body >= 4
    return False


@kernel
def _bits(buf: Any, p: int, nbytes: int, count: int, values: Any, nval: int) -> int:
    """Coil/input bits of ``nbytes`` bytes, least significant first, at most ``count``."""
    n = 0
    for i in range(nbytes):
        byte = int(buf[p + i])
        for j in range(8):
            if n >= count:
                return n
            values[nval + n] = (byte >> j) & 1
            n += 1
    return n


@kernel
def _registers(buf: Any, p: int, count: int, values: Any, nval: int) -> int:
    for i in range(count):
        values[nval + i] = rd16be(buf, p + 2 * i)
    return count


@kernel
def _forget(lane: int, j: int, n: Any, tid: Any, unit: Any, fc: Any, addr: Any, qty: Any,
            ts: Any, frame: Any, count: int) -> None:
    """Remove ``count`` pending entries from position ``j`` of ``lane``, keeping the order."""
    end = n[lane]
    for k in range(j, end - count):
        tid[lane, k] = tid[lane, k + count]
        unit[lane, k] = unit[lane, k + count]
        fc[lane, k] = fc[lane, k + count]
        addr[lane, k] = addr[lane, k + count]
        qty[lane, k] = qty[lane, k + count]
        ts[lane, k] = ts[lane, k + count]
        frame[lane, k] = frame[lane, k + count]
    n[lane] = end - count


@kernel
def modbus_kernel(
    buf: Any,
    start: Any,
    length: Any,
    ts: Any,
    frame: Any,
    lane_of: Any,
    direction: Any,
    usable: Any,
    client_dir: Any,
    refused: Any,
    pend_n: Any,
    pend_tid: Any,
    pend_unit: Any,
    pend_fc: Any,
    pend_addr: Any,
    pend_qty: Any,
    pend_ts: Any,
    pend_frame: Any,
    timeout_ns: int,
    accepted: Any,
    r_pkt: Any,
    r_kind: Any,
    r_tid: Any,
    r_unit: Any,
    r_fc: Any,
    r_addr: Any,
    r_qty: Any,
    r_exc: Any,
    r_matched: Any,
    r_req_frame: Any,
    r_latency: Any,
    r_val_start: Any,
    r_val_len: Any,
    values: Any,
) -> tuple[int, int]:
    """Parse and pair; returns (rows written, values written). See the module docstring."""
    cap = pend_tid.shape[1]
    nrow = 0
    nval = 0
    for k in range(start.shape[0]):
        lane = lane_of[k]
        accepted[k] = False
        if refused[lane]:
            continue
        is_req = direction[k] == client_dir[lane]
        # Pass 1: the payload must be whole ADUs the kernel handles, before anything changes.
        pos = start[k]
        end = pos + length[k]
        ok = usable[k] and length[k] > 0
        nreq = 0
        while ok and pos < end:
            if end - pos < MBAP_LEN + 1:
                ok = False
                break
            size = rd16be(buf, pos + 4)
            if rd16be(buf, pos + 2) != 0 or size < 2 or size > MAX_ADU - 6:
                ok = False
                break
            if pos + 6 + size > end:
                ok = False
                break
            fc = int(buf[pos + MBAP_LEN])
            body = size - 2
            if is_req:
                ok = _request_ok(fc, body)
                nreq += 1
            else:
                ok = _response_ok(fc, body)
            pos += 6 + size
        if ok and pend_n[lane] + nreq > cap:
            ok = False  # the dissector's table is larger: let it take the flow
        if not ok:
            refused[lane] = True
            continue
        accepted[k] = True
        # Pass 2: one row per ADU, pairing as the dissector does.
        pos = start[k]
        while pos < end:
            size = rd16be(buf, pos + 4)
            tid = rd16be(buf, pos)
            unit = int(buf[pos + 6])
            fc = int(buf[pos + MBAP_LEN])
            b = pos + MBAP_LEN + 1  # first byte after the function code
            body = size - 2
            pos += 6 + size
            r = nrow
            nrow += 1
            r_pkt[r] = k
            r_tid[r] = tid
            r_unit[r] = unit
            r_fc[r] = fc & 0x7F
            r_addr[r] = NONE
            r_qty[r] = NONE
            r_exc[r] = NONE
            r_matched[r] = False
            r_req_frame[r] = NONE
            r_latency[r] = 0
            r_val_start[r] = nval
            r_val_len[r] = NONE
            n = pend_n[lane]
            found = -1
            for j in range(n):
                if pend_tid[lane, j] == tid and pend_unit[lane, j] == unit:
                    found = j
                    break
            if is_req:
                r_kind[r] = REQUEST
                addr = rd16be(buf, b)
                qty = rd16be(buf, b + 2)
                if fc == 5 or fc == 6:
                    value = qty
                    qty = 1
                    values[nval] = (1 if value == COIL_ON else 0) if fc == 5 else value
                    r_val_len[r] = 1
                    nval += 1
                elif fc == 15 or fc == 16:
                    avail = min(int(buf[b + 4]), body - 5)
                    if fc == 15:
                        got = _bits(buf, b + 5, avail, min(qty, MAX_VALUES), values, nval)
                    else:
                        got = _registers(buf, b + 5, min(avail // 2, MAX_VALUES), values, nval)
                    r_val_len[r] = got
                    nval += got
                r_addr[r] = addr
                r_qty[r] = qty
                # Remember it: a repeated (transaction, unit) keeps its place in the order.
                j = found
                if j < 0:
                    j = n
                    pend_n[lane] = n + 1
                pend_tid[lane, j] = tid
                pend_unit[lane, j] = unit
                pend_fc[lane, j] = fc
                pend_addr[lane, j] = addr
                pend_qty[lane, j] = qty
                pend_ts[lane, j] = ts[k]
                pend_frame[lane, j] = frame[k]
                drop = 0
                while drop < pend_n[lane] and ts[k] - pend_ts[lane, drop] > timeout_ns:
                    drop += 1
                if drop:
                    _forget(lane, 0, pend_n, pend_tid, pend_unit, pend_fc, pend_addr, pend_qty,
                            pend_ts, pend_frame, drop)
                continue
            r_kind[r] = RESPONSE
            req_qty = NONE
            if found >= 0 and pend_fc[lane, found] == fc & 0x7F:
                r_matched[r] = True
                r_req_frame[r] = pend_frame[lane, found]
                r_latency[r] = ts[k] - pend_ts[lane, found]
                req_qty = pend_qty[lane, found]
                if not fc & 0x80:
                    r_addr[r] = pend_addr[lane, found]
                    r_qty[r] = req_qty
                _forget(lane, found, pend_n, pend_tid, pend_unit, pend_fc, pend_addr, pend_qty,
                        pend_ts, pend_frame, 1)
            if fc & 0x80:
                r_exc[r] = int(buf[b])
            elif fc == 1 or fc == 2:
                avail = min(int(buf[b]), body - 1)
                count = avail * 8
                if r_matched[r] and req_qty != NONE:
                    count = min(count, req_qty)
                got = _bits(buf, b + 1, avail, min(count, MAX_VALUES), values, nval)
                r_val_len[r] = got
                nval += got
            elif fc == 3 or fc == 4:
                avail = min(int(buf[b]), body - 1)
                got = _registers(buf, b + 1, min(avail // 2, MAX_VALUES), values, nval)
                r_val_len[r] = got
                nval += got
            elif fc == 5 or fc == 6:
                value = rd16be(buf, b + 2)
                r_addr[r] = rd16be(buf, b)
                r_qty[r] = 1
                values[nval] = (1 if value == COIL_ON else 0) if fc == 5 else value
                r_val_len[r] = 1
                nval += 1
            else:  # 15, 16: the echo of address and quantity
                r_addr[r] = rd16be(buf, b)
                r_qty[r] = rd16be(buf, b + 2)
    return nrow, nval
