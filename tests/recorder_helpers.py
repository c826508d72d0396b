"""Helpers of the recorder tests: a local upstream that streams corpus files, and a real mitmdump around it.

The upstream is a small real HTTP/1.1 server (`http.server` in a thread, port 0) that answers any POST with the
corpus file named in `X-Corpus`, one event per HTTP chunk. Request headers steer it:

- `X-Delay-Ms`: a pause before each event (many streams at once).
- `X-Lockstep: <id>`: send one event, then wait until the test calls `upstream.ack(id)`: a proxy that
  buffered would deadlock, so a passing test proves each event reached the client before the next was sent.
- `X-Cut-After: N`: send N events and half of the next one, then drop the connection (an upstream that dies);
  N of all the events: drop it after the last one, without the chunked body's closing chunk.
- `X-Encoding: gzip|deflate|br|zstd`: compress the body, flushing after each event.
- `X-Status: 401`: answer with a JSON error body instead of a stream (`X-Echo-Key`: quoting the `Authorization`
  header in it, as some servers do).
- `X-Repeat: N`: send the events between the first and the last three N times (a long stream; `stream_events`).
- `X-Chunk-Size: N`: split each event over HTTP chunks of N bytes (1: one byte per chunk).
- `X-Stall: INDEX:MS`: pause MS milliseconds before event INDEX (an upstream that stalls, then goes on).

mitmdump runs with `addons/sse_recorder.py`; its addon writes the bound address into a FIFO from the
`running` hook (the test blocks on reading it, never sleeps), and its live lines are read from its stdout into
a queue the tests block on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import queue
import signal
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import zlib
from base64 import b64decode
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli
import zstandard
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from h2 import events as h2events
from h2.config import H2Configuration
from h2.connection import H2Connection

from inspector.pytest_plugin.endpoints import stop_process

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
ADDON = ROOT / "addons" / "sse_recorder.py"
MITMDUMP = Path(sys.executable).with_name("mitmdump")
SECRET = "sk-test-0123-SECRETVALUE-wxyz"
"""What the clients send as their key; only its last four characters may reach a recording."""
WAIT = 20.0
"""Seconds before a blocked wait gives up (a failing test, not a slow one)."""


def corpus_events(name: str) -> list[bytes]:
    """The events of a corpus file, each with its blank line, split exactly as they are on disk."""
    data = (CORPUS / name).read_bytes()
    events, start = [], 0
    while (end := data.find(b"\n\n", start)) != -1:
        events.append(data[start : end + 2])
        start = end + 2
    if start < len(data):
        events.append(data[start:])
    return events


def stream_events(name: str, repeat: int = 1) -> list[bytes]:
    """The events the upstream sends for `X-Corpus: name` and `X-Repeat: repeat`: the middle ones repeated."""
    events = corpus_events(name)
    if repeat <= 1 or len(events) < 5:
        return events
    return events[:1] + events[1:-3] * repeat + events[-3:]


@cache
def brotli_bomb() -> bytes:
    """An event stream's body of 64 MiB of zeros in about a hundred bytes of brotli: a decompression bomb."""
    return brotli.compress(b"data: " + bytes(64 << 20), quality=5)


def _compressor(name: str) -> Callable[[bytes, bool], bytes]:
    """`compress(data, last)`: the compressed bytes of one event, flushed so the client can decode it now."""
    if name == "gzip":
        inner = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    elif name == "deflate":
        inner = zlib.compressobj()
    elif name == "br":
        streamer = brotli.Compressor()
        return lambda data, last: streamer.process(data) + (streamer.finish() if last else streamer.flush())
    elif name == "zstd":
        writer = zstandard.ZstdCompressor().compressobj()
        return lambda data, last: writer.compress(data) + writer.flush(
            zstandard.COMPRESSOBJ_FLUSH_FINISH if last else zstandard.COMPRESSOBJ_FLUSH_BLOCK
        )
    else:
        raise ValueError(name)
    return lambda data, last: inner.compress(data) + inner.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


@dataclass
class Upstream:
    """The running upstream: its URL, what it sent per request, and the lock-step gates."""

    url: str
    sent: dict[str, bytes] = field(default_factory=dict)
    last_event_at: dict[str, float] = field(default_factory=dict)
    """`time.monotonic()` when the last event went out, by `X-Soak-Id` (the soak's requests carry one)."""
    """Exact bytes of each body as sent, by `X-Corpus` + `X-Encoding` (before chunked framing)."""
    gates: dict[str, queue.Queue] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def gate(self, key: str) -> queue.Queue:
        with self.lock:
            return self.gates.setdefault(key, queue.Queue())

    def ack(self, key: str) -> None:
        """Let the lock-step stream `key` send its next event."""
        self.gate(key).put(None)

    def wait_sent(self, key: str) -> None:
        """Block until the lock-step stream `key` has sent its last byte (or given up)."""
        self.gate(f"{key}:sent").get(timeout=WAIT)


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def handle(self) -> None:
            with suppress(ConnectionResetError, BrokenPipeError):  # the proxy dropped a kept-alive connection
                super().handle()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = int(self.headers.get("X-Status", "200"))
            if status != 200:
                self._error(status)
                return
            if "X-Bomb" in self.headers:
                self._bomb()
                return
            name = self.headers["X-Corpus"]
            events = stream_events(name, int(self.headers.get("X-Repeat", "1")))
            piece = int(self.headers.get("X-Chunk-Size", "0"))
            stall_at, _, stall_ms = self.headers.get("X-Stall", "-1:0").partition(":")
            encoding = self.headers.get("X-Encoding")
            compress = _compressor(encoding) if encoding else None
            delay = float(self.headers.get("X-Delay-Ms", "0")) / 1000
            lockstep = self.headers.get("X-Lockstep")
            cut = int(self.headers["X-Cut-After"]) if "X-Cut-After" in self.headers else None
            self.send_response(200)
            content_type = self.headers.get("X-Content-Type", "text/event-stream; charset=utf-8")
            if content_type:  # "": none at all, as anyclaude's proxy sends its streams
                self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Set-Cookie", f"session={SECRET}")
            if "X-Both-Lengths" in self.headers:  # which request smuggling relies on: mitmproxy refuses it
                self.send_header("Content-Length", "5")
            if "X-Latin1-Header" in self.headers:
                self.send_header("X-Note", "caf\xe9")  # sent as Latin-1: the byte 0xE9, not UTF-8
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.end_headers()
            sent = bytearray()
            try:
                for index, event in enumerate(events):
                    if cut is not None and index == cut:
                        self._chunk(event[: len(event) // 2])
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    if delay:
                        threading.Event().wait(delay)  # the upstream's pacing, not a test waiting
                    if index == int(stall_at):
                        threading.Event().wait(float(stall_ms) / 1000)  # the upstream stalls
                    body = compress(event, index == len(events) - 1) if compress else event
                    sent += body
                    for start in range(0, len(body), piece or len(body) or 1):
                        self._chunk(body[start : start + (piece or len(body))])
                    if lockstep:
                        upstream.gate(lockstep).get(timeout=WAIT)
                if "X-Soak-Id" in self.headers:
                    upstream.last_event_at[self.headers["X-Soak-Id"]] = time.monotonic()
                if cut is not None and cut >= len(events):
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, queue.Empty):
                self.close_connection = True
                return
            finally:
                upstream.sent[f"{name}|{encoding}"] = bytes(sent)
                if lockstep:
                    upstream.gate(f"{lockstep}:sent").put(None)  # the whole body is out (`Upstream.wait_sent`)

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _bomb(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Encoding", "br")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunk(brotli_bomb())
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _error(self, status: int) -> None:
            echoed = f": {self.headers['Authorization']}" if "X-Echo-Key" in self.headers else ""
            body = json.dumps({"error": {"message": f"Incorrect API key provided{echoed}",
                                         "type": "invalid_request_error"}})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # socketserver's 5 drops connections when hundreds come at once (the soak)


@contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[None]:
    """Serve on a thread of its own while the block runs; then stop, close and join it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


@contextmanager
def run_upstream() -> Iterator[Upstream]:
    upstream = Upstream("")
    server = _Server(("127.0.0.1", 0), _handler(upstream))
    server.daemon_threads = True
    upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield upstream


def _throwaway_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA (its certificate written to `ca.pem`) and a certificate it signed for 127.0.0.1: the
    files (CA, certificate, key) of an upstream behind a private CA."""
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sse-inspector test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = directory / "ca.pem", directory / "upstream-cert.pem", directory / "upstream-key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return files


@contextmanager
def run_tls_upstream(directory: Path) -> Iterator[tuple[Upstream, Path]]:
    """The upstream of `run_upstream` over HTTPS, behind a throwaway private CA; yields it and the CA's file."""
    ca_file, cert_file, key_file = _throwaway_ca(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    upstream = Upstream("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream), bind_and_activate=False)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.server_bind()
    server.server_activate()
    upstream.url = f"https://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield upstream, ca_file


@dataclass
class Proxy:
    """A running mitmdump with the recorder: its base URL, its recordings, its live lines."""

    url: str
    directory: Path
    process: subprocess.Popen
    lines: queue.Queue[str]

    def results(self, count: int) -> list[str]:
        """The next `count` live lines (each ends with the recording's path), blocking until they come."""
        found = []
        while len(found) < count:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"only {len(found)} of {count} streams were reported: {found}") from None
            if line.rstrip().endswith(".jsonl"):
                found.append(line.rstrip())
        return found


def _read_address(fifo: Path, process: subprocess.Popen) -> str:
    """Block until the addon writes the address; if mitmdump dies first, unblock the read and fail."""

    def watchdog() -> None:
        with suppress(subprocess.TimeoutExpired):
            process.wait(WAIT)
        with suppress(OSError):  # ENXIO: nobody is reading any more, the address came
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a reader still waits: end its read

    threading.Thread(target=watchdog, daemon=True).start()
    with open(fifo) as reader:
        address = reader.read().strip()
    if not address:
        raise AssertionError(f"mitmdump did not start (exit code {process.poll()})")
    return address


@contextmanager
def run_mitmdump(tmp: Path, upstream_url: str, *options: str, directory: Path | None = None,
                 addons_before: tuple[Path, ...] = ()) -> Iterator[Proxy]:
    """mitmdump in reverse mode to `upstream_url`, recording into `directory` (`tmp/recordings`), with the addon
    scripts `addons_before` loaded before the recorder; stopped with SIGINT.

    NOTE: never pass an `sse_*` option twice in `options`: mitmproxy 11 then drops all deferred script options.
    """
    directory = directory or tmp / "recordings"
    fifo = tmp / "address"
    os.mkfifo(fifo)
    command = [
        str(MITMDUMP), *(arg for script in (*addons_before, ADDON) for arg in ("-s", str(script))),
        "--mode", f"reverse:{upstream_url}", "--listen-host", "127.0.0.1",
        "-p", "0", "--set", f"sse_dir={directory}", "--set", f"sse_listen_file={fifo}",
        "--set", "flow_detail=0", *options,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        try:
            address = _read_address(fifo, process)
        except AssertionError as error:
            output = "".join(lines.get() for _ in range(lines.qsize()))
            raise AssertionError(f"{error}; its output:\n{output}") from None
        yield Proxy(f"http://{address}", directory, process, lines)
    finally:
        stop_process(process, signal.SIGINT, WAIT)
        reader.join(WAIT)


def spawned_children(pid: int) -> list[int]:
    """The children of process `pid` that multiprocessing spawned to run code (not its resource tracker).
    NOTE: Linux only (reads /proc)."""
    children = [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()]
    return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def read_recording(path: str | Path) -> tuple[dict, list[dict], dict | None]:
    """(header, chunk lines, end line or None) of a recording file."""
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    chunks = [line for line in lines[1:] if line["kind"] == "chunk"]
    end = next((line for line in lines[1:] if line["kind"] == "end"), None)
    return lines[0], chunks, end


def recorded_body(chunks: list[dict]) -> bytes:
    return b"".join(chunk["text"].encode() if "text" in chunk else b64decode(chunk["b64"]) for chunk in chunks)


# -- an HTTP/2 upstream (TLS + ALPN h2): mitmproxy speaks HTTP/2 upstream only when its client does -------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 (mitmdump runs with ssl_insecure against it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "upstream-cert.pem", directory / "upstream-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class _H2Stream(asyncio.Protocol):
    """One HTTP/2 connection: answers each request with the corpus file in `x-corpus`, one DATA frame per event."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.transport.write(self.conn.data_to_send())
        self.requests: dict[int, dict[str, str]] = {}

    def data_received(self, data: bytes) -> None:
        for event in self.conn.receive_data(data):
            if isinstance(event, h2events.RequestReceived):
                self.requests[event.stream_id] = dict(event.headers)
            elif isinstance(event, h2events.DataReceived):
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2events.StreamEnded):
                asyncio.ensure_future(self.respond(event.stream_id, self.requests.pop(event.stream_id)))
        self.transport.write(self.conn.data_to_send())

    async def respond(self, stream_id: int, headers: dict[str, str]) -> None:
        self.conn.send_headers(stream_id, [(":status", "200"), ("content-type", "text/event-stream")])
        for event in corpus_events(headers["x-corpus"]):
            await asyncio.sleep(float(headers.get("x-delay-ms", "0")) / 1000)  # the upstream's pacing
            self.conn.send_data(stream_id, event)
            self.transport.write(self.conn.data_to_send())
        self.conn.end_stream(stream_id)
        self.transport.write(self.conn.data_to_send())


@contextmanager
def run_h2_upstream(tmp: Path) -> Iterator[str]:
    """An HTTP/2-only TLS upstream on 127.0.0.1 (its own event loop in a thread); yields its https URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp))
    context.set_alpn_protocols(["h2"])
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(
        loop.create_server(_H2Stream, "127.0.0.1", 0, ssl=context), loop
    ).result(WAIT)
    try:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()


# -- `sse-inspector record` as a real process -------------------------------------------------------------------


@dataclass
class RecordCommand:
    """A running `sse-inspector record`: its process, its stdout line by line, and where to point a client."""

    process: subprocess.Popen
    lines: queue.Queue[str]
    reader: threading.Thread

    def line(self) -> str:
        return self.lines.get(timeout=WAIT)

    def stop(self) -> tuple[int, list[str], str]:
        """Ctrl-C; returns the exit code, the stdout lines not read yet and the whole of stderr."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(WAIT)
        self.reader.join(WAIT)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, rest, self.process.stderr.read()
