"""The records entries are read past zipfile (ISA-L inflate, no CRC): byte for byte what
zipfile reads, and every damage still ends the read with an error."""

from __future__ import annotations

import contextlib
import io
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrationsplaner.exchange import reader
from integrationsplaner.exchange.reader import READ_ERRORS, EntryReader

NAME = "records/measures.jsonl"


def _zip(path: Path, data: bytes, method: int = zipfile.ZIP_DEFLATED, level: int = 6,
         name: str = NAME) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("manifest.json"), b"{}")
        zf.writestr(name, data, compress_type=method, compresslevel=level)
    with zipfile.ZipFile(path) as zf:
        return zf.getinfo(name)


def _read_all(path: Path, info: zipfile.ZipInfo, size: int) -> bytes:
    out = io.BytesIO()
    with EntryReader(path, info) as entry:
        while chunk := entry.read(size):
            assert len(chunk) <= size
            out.write(chunk)
    return out.getvalue()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=5000),
                      st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=40),
                                st.integers(1, 20_000))),
       method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
       level=st.integers(0, 9), size=st.sampled_from([1, 7, 4096, 1 << 20]),
       isal=st.booleans())
def test_reads_what_zipfile_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes,
                                  method: int, level: int, size: int, isal: bool) -> None:
    if not isal:
        monkeypatch.setattr(reader, "_inflate", zlib)
    path = tmp_path / "b.ipbundle"
    info = _zip(path, data, method, level)
    assert _read_all(path, info, size) == data
    # every read but the last gives the whole size asked for (lines are cut from full chunks)
    with EntryReader(path, info) as entry:
        assert len(entry.read(size)) == min(size, len(data))


def test_the_fast_inflate_is_used() -> None:
    """ISA-L is installed where the project asks for it (as on this machine)."""
    from isal import isal_zlib

    assert reader._inflate is isal_zlib


@pytest.mark.parametrize("damage", ["name", "method", "encrypted", "signature"])
def test_a_local_header_that_disagrees_is_refused(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "b.ipbundle"
    info = _zip(path, b"x" * 1000)
    data = bytearray(path.read_bytes())
    at = info.header_offset
    if damage == "name":
        data[at + 30] ^= 0x20  # "records" -> "Records"
    elif damage == "method":
        data[at + 8] = 0  # stored, the central directory says deflated
    elif damage == "encrypted":
        data[at + 6] |= 0x1
    else:
        data[at] = ord("X")
    path.write_bytes(bytes(data))
    with pytest.raises(zipfile.BadZipFile):
        EntryReader(path, info)


def test_damaged_and_cut_entries_end_with_an_error(tmp_path: Path) -> None:
    text = b"".join(b'{"n": %d, "text": "Zeile"}\n' % n for n in range(20_000))
    path = tmp_path / "b.ipbundle"
    info = _zip(path, text)
    start = info.header_offset + 30 + len(NAME)
    good = path.read_bytes()
    # the compressed data cut in the middle: the file ends (or the stream stops) too early
    cut = tmp_path / "cut.ipbundle"
    cut.write_bytes(good[:start + info.compress_size // 2])
    with pytest.raises(READ_ERRORS):
        _read_all(cut, info, 4096)
    # a flipped byte: an invalid stream, or other bytes (which the SHA-256 of the entry finds)
    flipped = tmp_path / "flipped.ipbundle"
    flipped.write_bytes(good[:start + 100] + bytes([good[start + 100] ^ 0xFF])
                        + good[start + 101:])
    with contextlib.suppress(READ_ERRORS):
        assert _read_all(flipped, info, 4096) != text


def test_never_more_than_the_stated_size(tmp_path: Path) -> None:
    """A central directory that states fewer bytes than the stream holds: only those are read
    (the entry's SHA-256 then fails); one that states more: an error at the stream's end."""
    path = tmp_path / "b.ipbundle"
    info = _zip(path, b"abc" * 10_000)
    info.file_size = 10
    assert _read_all(path, info, 4096) == b"abcabcabca"
    info.file_size = 30_001
    with pytest.raises(EOFError):
        _read_all(path, info, 4096)
