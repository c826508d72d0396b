"""Incremental `Content-Encoding` decoding for the recorder.

The app receives the bytes exactly as the upstream sent them; the recording stores what they say. Each chunk is
decoded the moment it arrives (never the whole body at the end), so a compressed stream is recorded with the
same timing as a plain one. `brotli` and `zstandard` come with mitmproxy.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli
import zstandard


class DecodeError(ValueError):
    """A body that does not decode with the encoding its headers announce, or decodes to far too much."""


MAX_RATIO = 1000
"""A body may decode to at most this many times its encoded size, beyond its first `FREE` bytes. A streamed body is
flushed at every event, which costs a few bytes each: the corpus's streams, compressed so (gzip, br, zstd), decode
to at most 18 times their size. A few hundred bytes of a decompression bomb become gigabytes, which would fill the
proxy's memory (a batch of chunks is decoded at once), then the disk: the recording stops there, and the stream
passes on."""
FREE = 1 << 20
BROTLI_SLICE, ZSTD_SLICE = 16, 1024
"""Encoded bytes given to a decoder at a time when it cannot cap its output (brotli 1.1, which mitmproxy pins, and
zstandard's decompressobj): what one slice can become is bounded, and the limit is checked after each."""


class _Bounded:
    """A decoder that counts what it made, and stops past the limit `BodyDecoder` gives it."""

    _made = 0

    def _keep(self, piece: bytes, limit: int, out: bytearray) -> None:
        self._made += len(piece)
        if self._made > limit:
            raise DecodeError(f"the body decodes to over {MAX_RATIO} times its encoded size (past {limit} bytes), "
                              "as a decompression bomb does: not recorded further")
        out += piece


class _Identity:
    def decode(self, data: bytes, limit: int) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Zlib(_Bounded):
    """gzip; or deflate, with or without its zlib wrapper (servers send both under `deflate`)."""

    def __init__(self, wbits: int) -> None:
        self._inner = zlib.decompressobj(wbits) if wbits != zlib.MAX_WBITS else None
        self._head = b""

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._inner is None:
            # NOTE: RFC 9110 `deflate` is zlib-wrapped, but some servers send raw DEFLATE: the first two bytes
            # tell (a zlib header is CM=8 and a multiple of 31).
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inner = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        out = bytearray()
        while data:
            try:
                piece = self._inner.decompress(data, limit - self._made + 1)  # one byte more tells it is too much
            except zlib.error as error:
                raise DecodeError(f"deflate/gzip: {error}") from None
            self._keep(piece, limit, out)
            data = self._inner.unconsumed_tail
        return bytes(out)

    def flush(self) -> bytes:
        return self._inner.flush() if self._inner is not None else b""


class _Brotli(_Bounded):
    def __init__(self) -> None:
        self._inner = brotli.Decompressor()

    def decode(self, data: bytes, limit: int) -> bytes:
        out = bytearray()
        for start in range(0, len(data), BROTLI_SLICE):
            try:
                piece = self._inner.process(data[start : start + BROTLI_SLICE])
            except brotli.error as error:
                raise DecodeError(f"br: {error}") from None
            self._keep(piece, limit, out)
        return bytes(out)

    def flush(self) -> bytes:
        return b""


class _Zstd(_Bounded):
    """zstd; a body may hold several frames, each needs a fresh decompressor."""

    def __init__(self) -> None:
        self._context = zstandard.ZstdDecompressor()
        self._inner = self._context.decompressobj()

    def decode(self, data: bytes, limit: int) -> bytes:
        out = bytearray()
        while data:
            piece, data = data[:ZSTD_SLICE], data[ZSTD_SLICE:]
            while piece:
                try:
                    made = self._inner.decompress(piece)
                except zstandard.ZstdError as error:
                    raise DecodeError(f"zstd: {error}") from None
                self._keep(made, limit, out)
                piece = self._inner.unused_data if self._inner.eof else b""
                if self._inner.eof:
                    self._inner = self._context.decompressobj()
        return bytes(out)

    def flush(self) -> bytes:
        return b""


# fmt: off
_DECODERS: dict[str, Callable[[], _Identity | _Zlib | _Brotli | _Zstd]] = {
    "identity": _Identity,
    "gzip":     lambda: _Zlib(16 + zlib.MAX_WBITS),
    "x-gzip":   lambda: _Zlib(16 + zlib.MAX_WBITS),
    "deflate":  lambda: _Zlib(zlib.MAX_WBITS),
    "br":       _Brotli,
    "zstd":     _Zstd,
}
# fmt: on

SUPPORTED = frozenset(_DECODERS)


class BodyDecoder:
    """Undoes a `Content-Encoding` list (`gzip`, `br`, `gzip, br`, ...) one chunk at a time."""

    def __init__(self, content_encoding: str | None) -> None:
        names = [name.strip().lower() for name in (content_encoding or "").split(",") if name.strip()]
        unknown = [name for name in names if name not in _DECODERS]
        if unknown:
            raise DecodeError(f"unsupported content-encoding {unknown[0]!r}")
        # The last encoding applied is listed last, so it is undone first.
        self._steps = [_DECODERS[name]() for name in reversed(names) if name != "identity"]
        self.encoding = ", ".join(names) or None
        self._encoded = 0
        """Encoded bytes so far: what each step may make of them is bounded by `MAX_RATIO` times as much."""

    @property
    def is_identity(self) -> bool:
        return not self._steps

    def decode(self, data: bytes) -> bytes:
        self._encoded += len(data)
        for step in self._steps:
            data = step.decode(data, self._limit)
        return data

    def flush(self) -> bytes:
        """What the decoders still hold at the end of the body."""
        tail = b""
        for step in self._steps:
            tail = step.decode(tail, self._limit) + step.flush() if tail else step.flush()
        return tail

    @property
    def _limit(self) -> int:
        """The most bytes a step may make of what came so far."""
        return FREE + MAX_RATIO * self._encoded
