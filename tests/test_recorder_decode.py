"""Incremental Content-Encoding decoding: any split of the compressed bytes gives back the exact body."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import brotli
import pytest
import zstandard

from inspector.recorder.decode import BodyDecoder, DecodeError

BODY = b"".join(b'data: {"n":%d,"text":"caf\xc3\xa9 \xe2\x80\x94 chunk"}\n\n' % index for index in range(300))


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _zstd_two_frames(data: bytes) -> bytes:
    half = len(data) // 2
    compressor = zstandard.ZstdCompressor()
    return compressor.compress(data[:half]) + compressor.compress(data[half:])


ENCODED = {
    "gzip": ("gzip", gzip.compress(BODY)),
    "deflate": ("deflate", zlib.compress(BODY)),
    "deflate-raw": ("deflate", _raw_deflate(BODY)),
    "br": ("br", brotli.compress(BODY)),
    "zstd": ("zstd", zstandard.ZstdCompressor().compress(BODY)),
    "zstd-two-frames": ("zstd", _zstd_two_frames(BODY)),
    "gzip-then-br": ("gzip, br", brotli.compress(gzip.compress(BODY))),
    "identity": ("identity", BODY),
    "none": (None, BODY),
}


def decode_in_pieces(encoding: str | None, data: bytes, size: int) -> bytes:
    decoder = BodyDecoder(encoding)
    out = b"".join(decoder.decode(data[start : start + size]) for start in range(0, len(data), size))
    return out + decoder.flush()


@pytest.mark.parametrize("size", [1, 5, 4096, 1 << 20])
@pytest.mark.parametrize("case", list(ENCODED))
def test_any_split_decodes_to_the_body(case, size):
    encoding, data = ENCODED[case]
    assert decode_in_pieces(encoding, data, size) == BODY


def test_output_comes_as_the_input_does():
    """A flushed compressed event decodes as soon as it arrives, not at the end of the body."""
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    decoder = BodyDecoder("gzip")
    first = compressor.compress(b"data: 1\n\n") + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert decoder.decode(first) == b"data: 1\n\n"


@pytest.mark.parametrize("encoding, is_identity", [(None, True), ("identity", True), ("GZIP", False)])
def test_identity(encoding, is_identity):
    assert BodyDecoder(encoding).is_identity is is_identity


def test_unknown_encoding_is_refused():
    with pytest.raises(DecodeError, match="unsupported content-encoding 'compress'"):
        BodyDecoder("gzip, compress")


@pytest.mark.parametrize("encoding, garbage, message", [
    ("gzip", b"not gzip at all", "deflate/gzip: Error -3 while decompressing data: incorrect header check"),
    ("br", b"\xff\xff\xff\xff", "br: BrotliDecoderDecompressStream failed while processing the stream"),
    ("zstd", b"\x00\x01\x02\x03\x04\x05", "zstd: zstd decompressor error: Unknown frame descriptor"),
])
def test_corrupt_body_raises_decode_error(encoding, garbage, message):
    with pytest.raises(DecodeError) as raised:
        BodyDecoder(encoding).decode(garbage)
    assert str(raised.value) == message


def _bomb(encoding: str) -> bytes:
    """64 MiB of zeros after a `data: `, encoded in a few hundred bytes (brotli, zstd) or two kilobytes (gzip twice)."""
    zeros = b"data: " + bytes(64 << 20)
    if encoding == "br":
        return brotli.compress(zeros, quality=5)
    if encoding == "zstd":
        return zstandard.ZstdCompressor().compress(zeros)
    return gzip.compress(gzip.compress(zeros, 1), 1)


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip"])
def test_a_decompression_bomb_stops_decoding_before_it_fills_the_memory(encoding):
    """The recorder decodes in the proxy's process: a body that decodes to over a thousand times its size stops
    there (one error: the recording stops, the stream passes), having held a few MiB at most, not 64."""
    bomb = _bomb(encoding)
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError, match="over 1000 times its encoded size .* as a decompression bomb does"):
            BodyDecoder(encoding).decode(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20


def _flushed_events(encoding: str, event: bytes, count: int) -> list[bytes]:
    """`count` copies of `event`, compressed as a streaming server does: flushed after each, so each can be read."""
    if encoding == "gzip":
        gzipper = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
        return [gzipper.compress(event) + gzipper.flush(zlib.Z_SYNC_FLUSH) for _ in range(count)]
    if encoding == "br":
        brotlier = brotli.Compressor()
        return [brotlier.process(event) + brotlier.flush() for _ in range(count)]
    zstder = zstandard.ZstdCompressor().compressobj()
    return [zstder.compress(event) + zstder.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for _ in range(count)]


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_a_streamed_body_flushed_at_every_event_stays_below_the_limit(encoding):
    """A server streaming compressed events flushes each, which costs bytes: even 20,000 identical events decode
    whole."""
    event = b'data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
    decoder = BodyDecoder(encoding)
    decoded = b"".join(map(decoder.decode, _flushed_events(encoding, event, 20_000)))
    assert decoded == event * 20_000
