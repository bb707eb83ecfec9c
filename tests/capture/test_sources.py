"""Opening inputs: format by content, compression, zip, directories, stdin, errors; capinfos."""

from __future__ import annotations

import bz2
import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from otsight.capture.sources import Input, expand_inputs, read_input, read_stream
from otsight.core.errors import CaptureError

from .builders import (
    LINKTYPE_RAW,
    Frame,
    build_pcap,
    collect,
    compress,
    custom_block,
    epb,
    frame_bytes,
    idb,
    isb,
    make_zip,
    nrb,
    pb,
    shb,
    simple_records,
    spb,
    stream_of,
)

COMPRESSIONS = ["gzip", "zstd", "bzip2", "xz"]
PCAP = build_pcap(simple_records(300))
PCAPNG = (
    shb()
    + idb()
    + idb(LINKTYPE_RAW, tsresol=9)
    + b"".join(epb(i % 2, i, frame_bytes(i, 30 + i)) for i in range(200))
    + nrb()
    + spb(b"simple")
    + isb()
)
TEXT = b"These are my notes about the capture.\n" * 10


def payloads(frames: list[Frame]) -> list[bytes]:
    return [f.data for f in frames]


def read_path(
    path: Path | str, batch_frames: int = 65536
) -> tuple[list[Frame], CaptureError | None]:
    return collect(read_input(Input(str(path), Path(path)), batch_frames))


def read_data(data: bytes, source: str = "mem") -> tuple[list[Frame], CaptureError | None]:
    return collect(read_stream(io.BytesIO(data), source))


PCAP_FRAMES, _ = read_data(PCAP)
PCAPNG_FRAMES, _ = read_data(PCAPNG)
assert len(PCAP_FRAMES) == 300
assert len(PCAPNG_FRAMES) == 201


def same(a: list[Frame], b: list[Frame]) -> bool:
    key = [(f.number, f.data, f.caplen, f.wirelen, f.ts_ns, f.linktype) for f in a]
    return key == [(f.number, f.data, f.caplen, f.wirelen, f.ts_ns, f.linktype) for f in b]


# ---------------------------------------------------------------------------------------------
# format by content


def test_format_decided_by_content_not_name(tmp_path: Path) -> None:
    (tmp_path / "capture.txt").write_bytes(PCAP)
    (tmp_path / "other.pcap").write_bytes(PCAPNG)
    (tmp_path / "noext").write_bytes(compress("gzip", PCAPNG))
    frames, error = read_path(tmp_path / "capture.txt")
    assert error is None
    assert same(frames, PCAP_FRAMES)
    frames, error = read_path(tmp_path / "other.pcap")
    assert error is None
    assert same(frames, PCAPNG_FRAMES)
    frames, error = read_path(tmp_path / "noext")
    assert error is None
    assert same(frames, PCAPNG_FRAMES)


def test_text_named_pcap_is_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "capture.pcap"
    path.write_bytes(TEXT)
    frames, error = read_path(path)
    assert frames == []
    assert error is not None
    assert "not a capture file" in error.reason
    assert error.source == str(path)
    assert str(path) in str(error)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    frames, error = read_path(path)
    assert frames == []
    assert error is not None
    assert "empty" in error.reason


def test_source_name_travels_with_batches(tmp_path: Path) -> None:
    path = tmp_path / "a.pcap"
    path.write_bytes(PCAP)
    frames, _ = read_path(path)
    assert {f.source for f in frames} == {str(path)}


def test_short_reads_are_fine() -> None:
    for data, expected in ((PCAP, PCAP_FRAMES), (PCAPNG, PCAPNG_FRAMES)):
        frames, error = collect(read_stream(stream_of(data, 7), "trickle"))
        assert error is None
        assert same(frames, expected)


# ---------------------------------------------------------------------------------------------
# compression


@pytest.mark.parametrize("kind", COMPRESSIONS)
@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_compressed(tmp_path: Path, kind: str, fmt: str) -> None:
    raw, expected = (PCAP, PCAP_FRAMES) if fmt == "pcap" else (PCAPNG, PCAPNG_FRAMES)
    path = tmp_path / f"capture.{fmt}"  # no compression suffix: content decides
    path.write_bytes(compress(kind, raw))
    frames, error = read_path(path)
    assert error is None
    assert same(frames, expected)


def test_compressed_twice() -> None:
    frames, error = read_data(compress("gzip", compress("zstd", PCAP)))
    assert error is None
    assert same(frames, PCAP_FRAMES)


def test_compressed_too_many_times() -> None:
    data = PCAP
    for kind in ("gzip", "xz", "bzip2", "zstd"):
        data = compress(kind, data)
    frames, error = read_data(data)
    assert frames == []
    assert error is not None
    assert "too many" in error.reason


@pytest.mark.parametrize("kind", COMPRESSIONS)
def test_compressed_empty_and_text(kind: str) -> None:
    frames, error = read_data(compress(kind, b""))
    assert frames == []
    assert error is not None
    assert "empty" in error.reason
    frames, error = read_data(compress(kind, TEXT))
    assert frames == []
    assert error is not None
    assert "not a capture" in error.reason


@pytest.mark.parametrize(
    "damage",
    ["method", "deflate-data", "crc", "truncated-tiny", "trailing-garbage"],
)
def test_corrupt_gzip(damage: str) -> None:
    good = bytearray(compress("gzip", PCAP))
    if damage == "method":
        good[2] = 7  # compression method other than deflate
    elif damage == "deflate-data":
        for i in range(40, 60):
            good[i] ^= 0xA5
    elif damage == "crc":
        good[-8] ^= 0xFF
    elif damage == "truncated-tiny":
        good = good[:12]
    else:
        good += b"garbage!"
    frames, error = read_data(bytes(good), "bad.gz")
    assert error is not None, "damage not detected"
    assert error.source == "bad.gz"
    assert error.packets == len(frames)


@pytest.mark.parametrize("kind", COMPRESSIONS)
def test_corrupt_data_in_every_compressor(kind: str) -> None:
    good = bytearray(compress(kind, PCAP))
    for i in range(len(good) // 3, len(good) // 3 + 16):
        good[i] ^= 0x5A
    frames, error = read_data(bytes(good), "bad")
    assert error is not None
    assert error.packets == len(frames)


@pytest.mark.parametrize("kind", COMPRESSIONS)
def test_truncated_compressed_capture_keeps_the_good_packets(kind: str) -> None:
    """A capture cut while being compressed: the packets before the cut are read."""
    # bzip2 decodes whole blocks only: use 100 kB blocks so that complete ones precede the cut
    data = bz2.compress(PCAP, 1) if kind == "bzip2" else compress(kind, PCAP)
    frames, error = read_data(data[: len(data) * 2 // 3], "cut")
    assert error is not None
    assert error.packets == len(frames)
    assert len(frames) > 50, "packets before the cut were lost"
    assert same(frames, PCAP_FRAMES[: len(frames)])


# ---------------------------------------------------------------------------------------------
# zip


def test_zip_with_one_capture(tmp_path: Path) -> None:
    path = tmp_path / "one.zip"
    path.write_bytes(make_zip([("dir/capture.pcap", PCAP)]))
    frames, error = read_path(path)
    assert error is None
    assert same(frames, PCAP_FRAMES)
    assert {f.source for f in frames} == {f"{path}!dir/capture.pcap"}


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2])
def test_zip_with_several_captures_and_other_members(method: int) -> None:
    members = [
        ("readme.txt", TEXT),
        ("b.pcapng", PCAPNG),
        ("a.pcap", PCAP),
        ("c.pcap.gz", compress("gzip", PCAP)),
        ("sub/", b""),
        ("empty.bin", b""),
    ]
    frames, error = read_data(make_zip(members, method), "many.zip")
    assert error is None
    by_source: dict[str, list[Frame]] = {}
    for f in frames:
        by_source.setdefault(f.source, []).append(f)
    assert list(by_source) == ["many.zip!a.pcap", "many.zip!b.pcapng", "many.zip!c.pcap.gz"]
    assert same(by_source["many.zip!a.pcap"], PCAP_FRAMES)  # numbering restarts per member
    assert same(by_source["many.zip!b.pcapng"], PCAPNG_FRAMES)
    assert same(by_source["many.zip!c.pcap.gz"], PCAP_FRAMES)


def test_zip_without_capture() -> None:
    frames, error = read_data(make_zip([("notes.txt", TEXT)]), "x.zip")
    assert frames == []
    assert error is not None
    assert "no capture" in error.reason


def test_bad_zip() -> None:
    data = make_zip([("a.pcap", PCAP)])
    frames, error = read_data(data[:30], "x.zip")
    assert frames == []
    assert error is not None
    assert "zip" in error.reason


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_member_damaged(method: int) -> None:
    data = bytearray(make_zip([("a.pcap", PCAP)], method))
    for i in range(len(data) // 2, len(data) // 2 + 8):
        data[i] ^= 0x33
    frames, error = read_data(bytes(data), "x.zip")
    assert error is not None
    assert error.packets == len(frames)


def test_zip_member_encrypted() -> None:
    data = bytearray(make_zip([("a.pcap", PCAP)], zipfile.ZIP_STORED))
    # set the "encrypted" flag in the local header and in the central directory entry
    data[6] |= 1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    frames, error = read_data(bytes(data), "x.zip")
    assert frames == []
    assert error is not None


# ---------------------------------------------------------------------------------------------
# inputs: directories, missing and unreadable files, stdin


def test_directory_expansion_sorted_recursive_skipping_non_captures(tmp_path: Path) -> None:
    root = tmp_path / "caps"
    (root / "b_sub" / "deeper").mkdir(parents=True)
    (root / "a_sub").mkdir()
    (root / "0_empty_dir").mkdir()
    files = {
        "a_sub/2.pcap": PCAP,
        "a_sub/1.txt": compress("gzip", PCAPNG),  # a capture despite its name
        "a_sub/notes.md": TEXT,
        "b_sub/deeper/x.pcapng": PCAPNG,
        "b_sub/checksums.sha256": TEXT,
        "b_sub/empty.pcap": b"",
        "c.pcap.zst": compress("zstd", PCAP),
        "d.zip": make_zip([("a.pcap", PCAP)]),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    inputs, errors = expand_inputs([str(root)])
    assert errors == []
    got = [Path(i.name).relative_to(root).as_posix() for i in inputs]
    # os.walk order: a directory's own files (sorted) first, then its subdirectories (sorted)
    assert got == ["c.pcap.zst", "d.zip", "a_sub/1.txt", "a_sub/2.pcap", "b_sub/deeper/x.pcapng"]
    assert all(i.path == Path(i.name) for i in inputs)
    assert expand_inputs([str(root)]) == (inputs, [])  # deterministic
    counts = []
    for item in inputs:
        frames, error = collect(read_input(item))
        assert error is None
        counts.append(len(frames))
    assert counts == [300, 300, 201, 300, 201]


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_bytes(TEXT)
    inputs, errors = expand_inputs([str(tmp_path / "empty"), str(tmp_path / "notes")])
    assert inputs == []
    assert [e.source for e in errors] == [str(tmp_path / "empty"), str(tmp_path / "notes")]
    assert all("no capture" in e.reason for e in errors)


def test_nonexistent_path(tmp_path: Path) -> None:
    good = tmp_path / "good.pcap"
    good.write_bytes(PCAP)
    missing = str(tmp_path / "missing.pcap")
    inputs, errors = expand_inputs([missing, str(good)])
    assert [i.name for i in inputs] == [str(good)]
    assert len(errors) == 1
    assert errors[0].source == missing
    assert "no such file" in errors[0].reason
    # an input that vanished after expansion
    frames, error = read_path(missing)
    assert frames == []
    assert error is not None
    assert "cannot open" in error.reason


def test_explicit_file_is_always_tried(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(TEXT)
    inputs, errors = expand_inputs([str(notes)])
    assert errors == []
    assert inputs == [Input(str(notes), notes)]
    frames, error = collect(read_input(inputs[0]))
    assert frames == []
    assert error is not None
    assert "not a capture" in error.reason


def test_directory_read_as_a_file_is_unreadable(tmp_path: Path) -> None:
    frames, error = read_path(tmp_path)
    assert frames == []
    assert error is not None
    assert "cannot open" in error.reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.pcap"
    path.write_bytes(PCAP)
    path.chmod(0)
    try:
        frames, error = read_path(path)
        assert frames == []
        assert error is not None
        assert "cannot open" in error.reason
    finally:
        path.chmod(0o600)


class _FakeStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


@pytest.mark.parametrize("kind", ["plain", "gzip", "zip"])
def test_stdin_monkeypatched(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    data = {"plain": PCAPNG, "gzip": compress("gzip", PCAPNG), "zip": make_zip([("x", PCAPNG)])}
    monkeypatch.setattr(sys, "stdin", _FakeStdin(data[kind]))
    inputs, errors = expand_inputs(["-"])
    assert errors == []
    assert inputs == [Input("<stdin>", None)]
    frames, error = collect(read_input(inputs[0]))
    assert error is None
    assert same(frames, PCAPNG_FRAMES)


def test_stdin_pipe_subprocess() -> None:
    """A real, non-seekable pipe carrying a gzip-compressed capture."""
    code = (
        "from otsight.capture.sources import Input, read_input\n"
        "print(sum(len(b) for b in read_input(Input('<stdin>', None))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=compress("gzip", PCAP),
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == b"300"


# ---------------------------------------------------------------------------------------------
# cross-check with capinfos


def _capinfos_count(path: Path) -> int:
    """Packets capinfos reads; for a damaged file it only says so on stderr."""
    out = subprocess.run(
        ["capinfos", "-T", "-M", "-c", "-r", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if out.stdout.strip():
        return int(out.stdout.strip().split("\t")[-1])
    match = re.search(r"error occurred after reading (\d+) packets", out.stderr)
    assert match is not None, out.stderr
    return int(match.group(1))


CAPINFOS_CASES: dict[str, bytes] = {
    "usec-le.pcap": build_pcap(simple_records(37)),
    "nsec-be.pcap": build_pcap(simple_records(41), kind="nsec", endian=">"),
    "modified.pcap": build_pcap(simple_records(13), kind="modified"),
    "snapped.pcap": build_pcap(simple_records(20, size=64), snaplen=64),
    "truncated.pcap": build_pcap(simple_records(25))[:-9],
    "rich.pcapng": PCAPNG
    + custom_block()
    + shb(">")
    + idb(228, endian=">")
    + epb(0, 1, b"be", endian=">")
    + pb(0, 2, b"pb", endian=">"),
    "truncated.pcapng": PCAPNG[:-40],
    "bad-iface.pcapng": PCAPNG + epb(5, 0, b"x") + epb(0, 0, b"y"),
    "spb-too-short.pcapng": shb() + idb() + spb(b"good") + spb(bytes(48), wirelen=60),
    "gzip.pcap.gz": compress("gzip", PCAP),
}


@pytest.mark.skipif(shutil.which("capinfos") is None, reason="capinfos not installed")
@pytest.mark.parametrize("name", sorted(CAPINFOS_CASES))
def test_packet_count_matches_capinfos(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(CAPINFOS_CASES[name])
    frames, error = read_path(path)
    if error is not None:
        assert error.packets == len(frames)
    assert len(frames) == _capinfos_count(path)


def test_gzip_helper_round_trip() -> None:
    assert gzip.decompress(compress("gzip", PCAP)) == PCAP
