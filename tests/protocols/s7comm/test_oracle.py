"""S7comm against tshark on every corpus capture that holds S7comm (see oracle.py)."""

from __future__ import annotations

import pytest

from otsight.protocols.s7comm.events import S7PlusMessage, S7UserData
from otsight.testing import tshark
from otsight.testing.corpus import shared_data

from .oracle import compare, run, s7_captures

ROOT = shared_data()
pytestmark = pytest.mark.skipif(
    ROOT is None or not tshark.available(), reason="needs ../shared/data and tshark"
)


def _retransmitted_frames(path: object) -> set[int]:
    rows = tshark.fields(
        path,  # type: ignore[arg-type]
        ["frame.number"],
        display_filter="tcp.analysis.retransmission || tcp.analysis.spurious_retransmission",
    )
    return {int(r[0]) for r in rows if r[0]}


def test_oracle_all_s7comm_captures() -> None:
    assert ROOT is not None
    captures = s7_captures(ROOT)
    assert len(captures) >= 25, "the catalogue lists 28 captures with S7comm"
    lines = [f"{'capture':70s} {'ours':>6s} {'tshark':>6s} {'agree':>7s} {'delayed':>7s}"]
    total_ours = total_theirs = total_matched = 0
    failures = []
    for path in captures:
        label = str(path.relative_to(ROOT))
        c = compare(path, label)
        total_ours += c.ours
        total_theirs += c.theirs
        total_matched += c.matched
        lines.append(
            f"{label[-70:]:70s} {c.ours:6d} {c.theirs:6d} {c.agreement:7.4f} {c.delayed:7d}"
        )
        if c.agreement < 0.99:
            failures.append((label, c.agreement, c.mismatched_frames[:5]))
        if c.mismatched_frames:
            # the only accepted difference: PDUs in segments tshark flags as retransmissions
            # (it does not dissect them; we saw no earlier copy, so for us they are new data)
            retrans = _retransmitted_frames(path)
            for frame, mine, theirs in c.mismatched_frames:
                assert theirs == (), (label, frame, mine, theirs)
                assert frame in retrans, (label, frame, mine)
    lines.append(
        f"{'TOTAL':70s} {total_ours:6d} {total_theirs:6d} "
        f"{total_matched / max(total_ours, total_theirs):7.4f}"
    )
    print("\n" + "\n".join(lines))
    assert not failures, failures


def test_module_identification_from_szl_0011() -> None:
    assert ROOT is not None
    path = ROOT / "pcaps/ITI_ICS-Security-Tools/s7/snap7_s300_everything.pcapng"
    events = run(path)
    idents = [
        e.module_identification
        for e in events
        if isinstance(e, S7UserData) and e.module_identification
    ]
    merged: dict[str, str] = {}
    for ident in idents:
        merged.update(ident)
    # tshark: s7comm.szl.xy11.0001.anz = "6ES7 315-2EH14-0AB0 "
    assert merged.get("order_number") == "6ES7 315-2EH14-0AB0"
    assert merged.get("firmware_version", "").startswith("V")
    assert "serial_number" in merged
    assert "module_type" in merged


def test_s7comm_plus_on_corpus_s7_1200() -> None:
    """tshark 4.0 has no S7comm-plus dissector: check fields against the bytes by hand."""
    assert ROOT is not None
    path = ROOT / "pcaps/ITI_ICS-Security-Tools/s7/S7-1200-Uploading-OB1-TIAV12.pcap"
    events = [e for e in run(path) if isinstance(e, S7PlusMessage)]
    assert events, "S7-1200 upload capture holds S7comm-plus"
    first = events[0]
    # frame 6: 72 01 00ce 31 0000 04ca 0000 0001 00000120 ...
    assert (first.frame, first.opcode_name, first.function) == (6, "request", "create-object")
    assert first.session_id == 0x120
    assert first.sequence_number == 1
    second = events[1]
    # frame 8 answers with object ids 0x3c0 (the new session) and 0x387
    assert second.opcode_name == "response"
    assert second.matched
    assert second.request_frame == 6
    assert second.session_id == 0x3C0
    later = [e for e in events if e.opcode_name == "request" and e.frame > 8]
    assert later
    assert all(e.session_id == 0x3C0 for e in later)
    assert {"set-multi-variables", "get-var-sub-streamed"} <= {e.function for e in events}
