"""Per-packet flow accounting and in-order TCP delivery, compiled.

Runs over a batch after every packet has a flow slot. Anything rare and stateful returns
control to Python with a code and the packet index: a flow that must be split (idle timeout,
close delay over, port reuse after close), TCP segments that are out of order, truncated by the
snap length, or arrive while earlier out-of-order data is buffered, and ACKs that advance while
the peer's direction has buffered data (the ACK may prove a hole lost).

Flow ids are handed out here, at each flow's first packet, so they follow packet order whatever
the batch boundaries are.
"""

from __future__ import annotations

from typing import Any

from ..core.jit import kernel

DONE = 0
SPLIT = 1
SLOW = 2

FIN = 0x01
SYN = 0x02
RST = 0x04
ACK = 0x10
CLOSED_RST = 4


@kernel
def seqdiff(a: int, b: int) -> int:
    """Signed distance a - b in 32-bit sequence space."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


@kernel
def flow_kernel(
    start: Any,
    slot: Any,
    side: Any,
    ts: Any,
    wirelen: Any,
    proto: Any,
    flags: Any,
    seq: Any,
    ack: Any,
    pl_len: Any,
    pl_wire: Any,
    first_ts: Any,
    last_ts: Any,
    timeout: Any,
    close_ns: Any,
    pkts: Any,
    wire_bytes: Any,
    pl_bytes: Any,
    orig: Any,
    flow_id: Any,
    next_id: Any,
    flags_seen: Any,
    closed: Any,
    next_seq: Any,
    max_ack: Any,
    pending: Any,
    delivered: Any,
    retrans: Any,
    overlaps: Any,
    out_off: Any,
    out_len: Any,
) -> tuple[int, int]:
    n = slot.shape[0]
    for i in range(start, n):
        s = slot[i]
        if s < 0:
            continue
        b = side[i]
        f = flags[i]
        is_tcp = proto[i] == 6
        if pkts[s, 0] + pkts[s, 1] > 0:
            if ts[i] - last_ts[s] > timeout[s]:
                return SPLIT, i
            if (closed[s] & CLOSED_RST) or (closed[s] & 3) == 3:
                if ts[i] - last_ts[s] > close_ns:
                    return SPLIT, i  # closed and quiet for the close delay: already over
                if is_tcp and (f & SYN) and not (f & ACK):
                    return SPLIT, i
        else:
            flow_id[s] = next_id[0]
            next_id[0] += 1
            first_ts[s] = ts[i]
            last_ts[s] = ts[i]
            if is_tcp and (f & SYN) and not (f & ACK):
                orig[s] = b
            elif is_tcp and (f & SYN) and (f & ACK):
                orig[s] = 1 - b
            else:
                orig[s] = b
        pkts[s, b] += 1
        wire_bytes[s, b] += wirelen[i]
        pl_bytes[s, b] += pl_len[i]
        last_ts[s] = max(last_ts[s], ts[i])
        if not is_tcp:
            if pl_len[i] > 0:
                out_off[i] = 0
                out_len[i] = pl_len[i]
            continue
        flags_seen[s, b] |= f
        if f & RST:
            closed[s] |= CLOSED_RST
        if f & FIN:
            closed[s] |= 1 << b
        acked = False
        if f & ACK:
            a = ack[i]
            if max_ack[s, b] < 0 or seqdiff(a, max_ack[s, b]) > 0:
                max_ack[s, b] = a
                acked = pending[s, 1 - b] != 0
        dseq = seq[i]
        if f & SYN:
            dseq = (dseq + 1) & 0xFFFFFFFF
            if next_seq[s, b] < 0 or pkts[s, b] == 1:
                next_seq[s, b] = dseq
        if acked:
            return SLOW, i  # the peer's buffered data may now be past a hole proved lost
        length = pl_len[i]
        if length <= 0 and pl_wire[i] <= 0:
            continue
        if f & RST:
            continue  # data on a reset is not part of the stream
        if next_seq[s, b] < 0:
            next_seq[s, b] = dseq  # picked up mid-stream
        if pending[s, b] or length < pl_wire[i]:
            return SLOW, i
        d = seqdiff(dseq, next_seq[s, b])
        if d == 0:
            out_off[i] = 0
            out_len[i] = length
            next_seq[s, b] = (next_seq[s, b] + length) & 0xFFFFFFFF
            delivered[s, b] += length
        elif d < 0:
            if d + length <= 0:
                retrans[s, b] += length
            else:
                overlaps[s, b] += 1
                retrans[s, b] += -d
                out_off[i] = -d
                out_len[i] = length + d
                next_seq[s, b] = (dseq + length) & 0xFFFFFFFF
                delivered[s, b] += length + d
        else:
            return SLOW, i
    return DONE, n
