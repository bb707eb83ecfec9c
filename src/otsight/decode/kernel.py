"""The L2-L4 decoding kernel: link layers, VLANs, MPLS, PPPoE, ARP, IPv4, IPv6, TCP, UDP, ICMP.

One pass per batch, every read bounds-checked against the frame's captured length, so a
truncated or hostile frame ends its own decoding with an error code and never touches its
neighbours. Fragments are only marked here; they are reassembled in Python (rare, stateful).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..capture.batch import FrameBatch
from ..core.jit import kernel
from ..core.rd import rd16be, rd16le, rd32be, rd32le
from .table import (
    ERR_ARP_SHORT,
    ERR_IP_BAD,
    ERR_IP_SHORT,
    ERR_IPV6_EXT,
    ERR_L2_SHORT,
    ERR_L4_SHORT,
    ERR_LINKTYPE,
    ERR_TCP_BAD,
    L3_ARP,
    L3_IPV4,
    L3_IPV6,
    L3_LLC,
    L3_OTHER,
    PacketTable,
)

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_QINQ_OLD = 0x9100
ETH_MPLS = 0x8847
ETH_MPLS_MC = 0x8848
ETH_PPPOE = 0x8864
V4MAPPED = np.uint64(0xFFFF00000000)


@kernel
def _mac(buf: Any, p: int) -> int:
    return (rd16be(buf, p) << 32) | rd32be(buf, p + 2)


@kernel
def _ethertype_after_l2(
    buf: Any, p: int, end: int, i: int, ethertype: int, vlan: Any, l3: Any
) -> tuple[int, int]:
    """Walk VLAN tags, LLC/SNAP, MPLS and PPPoE; returns (L3 offset, ethertype) or (-1, 0)."""
    depth = 0
    while depth < 8:
        depth += 1
        if ethertype == ETH_VLAN or ethertype == ETH_QINQ or ethertype == ETH_QINQ_OLD:
            if end - p < 4:
                return -1, 0
            if vlan[i] == 0:
                vlan[i] = rd16be(buf, p) & 0x0FFF
            ethertype = rd16be(buf, p + 2)
            p += 4
        elif ethertype == ETH_MPLS or ethertype == ETH_MPLS_MC:
            while True:
                if end - p < 4:
                    return -1, 0
                bottom = buf[p + 2] & 1
                p += 4
                if bottom:
                    break
            if p >= end:
                return -1, 0
            nib = buf[p] >> 4
            if nib == 4:
                ethertype = ETH_IPV4
            elif nib == 6:
                ethertype = ETH_IPV6
            else:
                return p, 0
        elif ethertype == ETH_PPPOE:
            if end - p < 8:
                return -1, 0
            ppp = rd16be(buf, p + 6)
            p += 8
            if ppp == 0x0021:
                ethertype = ETH_IPV4
            elif ppp == 0x0057:
                ethertype = ETH_IPV6
            else:
                return p, ethertype
        elif ethertype <= 1500:
            # 802.3 length field: LLC follows; SNAP with a zero OUI carries an ethertype.
            if end - p < 3:
                return -1, 0  # the LLC header (DSAP, SSAP, control) is cut short
            if buf[p] == 0xAA and buf[p + 1] == 0xAA and buf[p + 2] == 3:
                if end - p < 8:
                    return -1, 0  # so is the SNAP header (OUI, protocol id)
                oui = (np.int64(buf[p + 3]) << 16) | (np.int64(buf[p + 4]) << 8) | buf[p + 5]
                pid = rd16be(buf, p + 6)
                if oui == 0:
                    ethertype = pid
                    p += 8
                    continue
                l3[i] = L3_LLC
                return p + 8, pid  # the payload follows the SNAP header (CDP, ...)
            l3[i] = L3_LLC
            return p, 0
        else:
            return p, ethertype
    return -1, 0


@kernel
def _inner_ethernet(buf: Any, p: int, end: int, i: int, vlan: Any, l3: Any) -> tuple[int, int]:
    """Ethernet carried in a tunnel (VXLAN, GRE bridging): returns (L3 offset, ethertype)."""
    if end - p < 14:
        return -1, 0
    return _ethertype_after_l2(buf, p + 14, end, i, rd16be(buf, p + 12), vlan, l3)


@kernel
def decode_kernel(
    buf: Any,
    offset: Any,
    caplen: Any,
    linktype: Any,
    l3: Any,
    err: Any,
    ethertype_col: Any,
    vlan: Any,
    src_mac: Any,
    dst_mac: Any,
    l3_off: Any,
    src_hi: Any,
    src_lo: Any,
    dst_hi: Any,
    dst_lo: Any,
    proto_col: Any,
    ttl: Any,
    frag: Any,
    ip_id: Any,
    has_ports: Any,
    sport: Any,
    dport: Any,
    tcp_flags: Any,
    seq: Any,
    ack: Any,
    window: Any,
    pl_off: Any,
    pl_len: Any,
    pl_wire: Any,
    tunnel: Any,
) -> None:
    n = offset.shape[0]
    for i in range(n):
        base = offset[i]
        end = base + caplen[i]
        p = base
        lt = linktype[i]
        et = 0
        if lt == 192:  # PPI: a header naming the link type of what follows
            if end - p < 8:
                err[i] = ERR_L2_SHORT
                continue
            hlen = rd16le(buf, p + 2)
            lt = rd32le(buf, p + 4)
            p += hlen
            if hlen < 8 or p > end:
                err[i] = ERR_L2_SHORT
                continue
        if lt == 1:  # Ethernet
            if end - p < 14:
                err[i] = ERR_L2_SHORT
                continue
            dst_mac[i] = _mac(buf, p)
            src_mac[i] = _mac(buf, p + 6)
            et = rd16be(buf, p + 12)
            p += 14
            p, et = _ethertype_after_l2(buf, p, end, i, et, vlan, l3)
            if p < 0:
                err[i] = ERR_L2_SHORT
                continue
        elif lt == 113:  # Linux cooked v1
            if end - p < 16:
                err[i] = ERR_L2_SHORT
                continue
            if rd16be(buf, p + 2) == 1 and rd16be(buf, p + 4) == 6:
                src_mac[i] = _mac(buf, p + 6)
            et = rd16be(buf, p + 14)
            p += 16
            p, et = _ethertype_after_l2(buf, p, end, i, et, vlan, l3)
            if p < 0:
                err[i] = ERR_L2_SHORT
                continue
        elif lt == 276:  # Linux cooked v2
            if end - p < 20:
                err[i] = ERR_L2_SHORT
                continue
            if rd16be(buf, p + 8) == 1 and buf[p + 11] == 6:
                src_mac[i] = _mac(buf, p + 12)
            et = rd16be(buf, p)
            p += 20
            p, et = _ethertype_after_l2(buf, p, end, i, et, vlan, l3)
            if p < 0:
                err[i] = ERR_L2_SHORT
                continue
        elif lt == 0 or lt == 108:  # BSD loopback: address family, host or network order
            if end - p < 4:
                err[i] = ERR_L2_SHORT
                continue
            fam = rd32be(buf, p) if lt == 108 else rd32le(buf, p)
            if lt == 0 and fam > 0xFFFF:
                fam = rd32be(buf, p)
            p += 4
            if fam == 2:
                et = ETH_IPV4
            elif fam == 24 or fam == 28 or fam == 30 or fam == 10:
                et = ETH_IPV6
            else:
                l3[i] = L3_OTHER
                continue
        elif lt == 101 or lt == 12 or lt == 14 or lt == 228 or lt == 229:
            if end - p < 1:
                err[i] = ERR_L2_SHORT
                continue
            v = buf[p] >> 4
            if lt == 228 or (lt != 229 and v == 4):
                et = ETH_IPV4
            elif lt == 229 or v == 6:
                et = ETH_IPV6
            else:
                err[i] = ERR_IP_BAD
                continue
        else:
            err[i] = ERR_LINKTYPE
            continue

        for layer in range(4):
            ethertype_col[i] = et
            l3_off[i] = p - base
            if l3[i] == L3_LLC:
                break
            # ---------------- L3 ----------------
            proto = -1
            l4 = 0
            ip_end = 0
            wire_end = 0
            if et == ETH_IPV4:
                l3[i] = L3_IPV4
                if end - p < 20:
                    err[i] = ERR_IP_SHORT
                    break
                ver = buf[p] >> 4
                ihl = (np.int64(buf[p]) & 0x0F) * 4  # widened: uint8 arithmetic wraps uncompiled
                if ver != 4 or ihl < 20:
                    err[i] = ERR_IP_BAD
                    break
                tot = rd16be(buf, p + 2)
                src_hi[i] = 0
                dst_hi[i] = 0
                src_lo[i] = V4MAPPED | np.uint64(rd32be(buf, p + 12))
                dst_lo[i] = V4MAPPED | np.uint64(rd32be(buf, p + 16))
                ttl[i] = buf[p + 8]
                proto = buf[p + 9]
                proto_col[i] = proto
                ip_id[i] = rd16be(buf, p + 4)
                if tot == 0:  # TSO: the NIC fills the length in later
                    tot = end - p
                if tot < ihl:
                    err[i] = ERR_IP_BAD
                    break
                if end - p < ihl:
                    err[i] = ERR_IP_SHORT
                    break
                flags_off = rd16be(buf, p + 6)
                ip_end = min(end, p + tot)
                wire_end = p + tot
                pl_wire[i] = tot - ihl
                if (flags_off & 0x3FFF) != 0:
                    frag[i] = 1
                    pl_off[i] = p + ihl - base
                    pl_len[i] = max(0, ip_end - (p + ihl))
                    break
                l4 = p + ihl
            elif et == ETH_IPV6:
                l3[i] = L3_IPV6
                if end - p < 40:
                    err[i] = ERR_IP_SHORT
                    break
                if (buf[p] >> 4) != 6:
                    err[i] = ERR_IP_BAD
                    break
                src_hi[i] = np.uint64((rd32be(buf, p + 8) << 32) | rd32be(buf, p + 12))
                src_lo[i] = np.uint64((rd32be(buf, p + 16) << 32) | rd32be(buf, p + 20))
                dst_hi[i] = np.uint64((rd32be(buf, p + 24) << 32) | rd32be(buf, p + 28))
                dst_lo[i] = np.uint64((rd32be(buf, p + 32) << 32) | rd32be(buf, p + 36))
                ttl[i] = buf[p + 7]
                plen = rd16be(buf, p + 4)
                ip_end = min(end, p + 40 + plen) if plen > 0 else end
                wire_end = p + 40 + plen if plen > 0 else end
                pl_wire[i] = plen
                nxt = buf[p + 6]
                q = p + 40
                bad = False
                is_frag = False
                hops = 0
                while hops < 16:
                    hops += 1
                    if nxt == 0 or nxt == 43 or nxt == 60 or nxt == 135 or nxt == 139 or nxt == 140:
                        if ip_end - q < 8:
                            bad = True
                            break
                        ext_len = (np.int64(buf[q + 1]) + 1) * 8
                        if ip_end - q < ext_len:
                            bad = True
                            break
                        nxt = buf[q]
                        q += ext_len
                    elif nxt == 44:
                        if ip_end - q < 8:
                            bad = True
                            break
                        fo = rd16be(buf, q + 2)
                        ip_id[i] = np.uint32(rd32be(buf, q + 4))
                        nxt = buf[q]
                        q += 8
                        if (fo & 0xFFF9) != 0:  # offset or more-fragments: a real fragment
                            is_frag = True
                            break
                    elif nxt == 51:  # AH
                        if ip_end - q < 8:
                            bad = True
                            break
                        ext_len = (np.int64(buf[q + 1]) + 2) * 4
                        if ip_end - q < ext_len:
                            bad = True
                            break
                        nxt = buf[q]
                        q += ext_len
                    else:
                        break
                proto = nxt
                proto_col[i] = proto
                if bad:
                    err[i] = ERR_IPV6_EXT
                    break
                if is_frag:
                    frag[i] = 1
                    pl_off[i] = q - base
                    pl_len[i] = max(0, ip_end - q)
                    pl_wire[i] = max(0, wire_end - q)
                    break
                l4 = q
            elif et == ETH_ARP:
                l3[i] = L3_ARP
                if end - p < 28:
                    err[i] = ERR_ARP_SHORT
                    break
                if rd16be(buf, p + 2) == ETH_IPV4 and buf[p + 4] == 6 and buf[p + 5] == 4:
                    sport[i] = rd16be(buf, p + 6)  # ARP opcode
                    src_lo[i] = V4MAPPED | np.uint64(rd32be(buf, p + 14))
                    dst_lo[i] = V4MAPPED | np.uint64(rd32be(buf, p + 24))
                break
            else:
                if l3[i] == 0:
                    l3[i] = L3_OTHER
                break
            decode_l4(
                buf,
                base,
                l4,
                ip_end,
                wire_end,
                proto,
                i,
                err,
                has_ports,
                sport,
                dport,
                tcp_flags,
                seq,
                ack,
                window,
                pl_off,
                pl_len,
                pl_wire,
            )
            # Tunnels: decode the inner packet, which is what the conversation is about.
            if err[i] != 0 or layer == 3:  # no layer left to decode the inner packet into
                break
            inner_p = -1
            outer_l3 = l3[i]
            outer_vlan = vlan[i]
            if proto == 4 or proto == 41:
                inner_p = l4
                et = ETH_IPV4 if proto == 4 else ETH_IPV6
                tunnel[i] = 1
            elif proto == 47 and ip_end - l4 >= 4:
                gflags = rd16be(buf, l4)
                gproto = rd16be(buf, l4 + 2)
                glen = 4 + (4 if gflags & 0x8000 else 0) + (4 if gflags & 0x2000 else 0)
                glen += 4 if gflags & 0x1000 else 0
                if (gflags & 0x4007) == 0 and ip_end - l4 >= glen:  # no routing, version 0
                    if gproto == ETH_IPV4 or gproto == ETH_IPV6:
                        inner_p = l4 + glen
                        et = gproto
                        tunnel[i] = 2
                    elif gproto == 0x6558 and ip_end - (l4 + glen) >= 14:
                        inner_p, et = _inner_ethernet(buf, l4 + glen, ip_end, i, vlan, l3)
                        tunnel[i] = 2
            elif proto == 17 and dport[i] == 4789 and pl_len[i] >= 8 + 14:
                inner_p, et = _inner_ethernet(buf, base + pl_off[i] + 8, ip_end, i, vlan, l3)
                tunnel[i] = 3
            if tunnel[i] >= 2 and et != ETH_IPV4 and et != ETH_IPV6:
                # Bridged non-IP frames (ARP, LLDP...) inside a tunnel: the tunnel is the flow.
                inner_p = -1
                tunnel[i] = 0
                l3[i] = outer_l3
                vlan[i] = outer_vlan  # a tag of the bridged frame is not the outer packet's
            if inner_p < 0:
                break
            has_ports[i] = False
            sport[i] = 0
            dport[i] = 0
            tcp_flags[i] = 0
            pl_off[i] = 0
            pl_len[i] = 0
            pl_wire[i] = 0
            ip_id[i] = 0  # IPv6 sets it only from a fragment header: drop the outer IPv4 id
            p = inner_p
            end = ip_end


@kernel
def decode_l4(
    buf: Any,
    base: Any,
    l4: Any,
    ip_end: Any,
    wire_end: Any,
    proto: Any,
    i: Any,
    err: Any,
    has_ports: Any,
    sport: Any,
    dport: Any,
    tcp_flags: Any,
    seq: Any,
    ack: Any,
    window: Any,
    pl_off: Any,
    pl_len: Any,
    pl_wire: Any,
) -> None:
    avail = ip_end - l4
    pl_wire[i] = 0
    if proto == 6 or proto == 17 or proto == 132 or proto == 33:
        if avail < 4:
            err[i] = ERR_L4_SHORT
            return
        has_ports[i] = True
        sport[i] = rd16be(buf, l4)
        dport[i] = rd16be(buf, l4 + 2)
        if proto == 6:
            if avail < 20:
                err[i] = ERR_L4_SHORT
                return
            seq[i] = np.uint32(rd32be(buf, l4 + 4))
            ack[i] = np.uint32(rd32be(buf, l4 + 8))
            doff = (buf[l4 + 12] >> 4) * 4
            tcp_flags[i] = rd16be(buf, l4 + 12) & 0x01FF
            window[i] = rd16be(buf, l4 + 14)
            if doff < 20:
                err[i] = ERR_TCP_BAD
                return
            if avail < doff:
                err[i] = ERR_L4_SHORT
                return
            pl_off[i] = l4 + doff - base
            pl_len[i] = avail - doff
            pl_wire[i] = max(pl_len[i], wire_end - (l4 + doff))
        elif proto == 17:
            if avail < 8:
                err[i] = ERR_L4_SHORT
                return
            ulen = rd16be(buf, l4 + 4)
            stop = ip_end
            if ulen >= 8 and l4 + ulen < ip_end:
                stop = l4 + ulen
            pl_off[i] = l4 + 8 - base
            pl_len[i] = stop - l4 - 8
            pl_wire[i] = pl_len[i]
        else:
            pl_off[i] = l4 - base
            pl_len[i] = avail
    elif proto == 1 or proto == 58:
        if avail < 4:
            err[i] = ERR_L4_SHORT
            return
        sport[i] = buf[l4]  # ICMP type and code in the port columns, as Zeek does
        dport[i] = buf[l4 + 1]
        pl_off[i] = l4 + 4 - base
        pl_len[i] = avail - 4
    else:
        pl_off[i] = l4 - base
        pl_len[i] = max(0, avail)


def decode_batch(batch: FrameBatch) -> PacketTable:
    """Decode every frame of ``batch`` into a :class:`PacketTable`."""
    table = PacketTable.empty(len(batch))
    if len(batch):
        decode_kernel(batch.buf, batch.offset, batch.caplen, batch.linktype, *table.columns())
    return table
