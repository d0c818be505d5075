"""A real HTTP server on 127.0.0.1 standing in for the official data hosts, with scriptable faults.

It serves files from a folder (for example the offline mirror) and from in-memory entries, and
records every request. Faults are scripted per path and consumed in order, one per request; once a
path's script is exhausted the file is served normally::

    with MirrorServer(root=mirror) as server:
        server.script("/communes/x.csv", RateLimited(retry_after=1, times=2))
        url = server.url("/communes/x.csv")
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Fault:
    """Base of the scripted behaviours; ``times=None`` means every request."""

    times: int | None = 1


@dataclass
class NotFound(Fault):
    """Answer 404."""

    times: int | None = None


@dataclass
class Status(Fault):
    """Answer an arbitrary status with a short body, e.g. 500 or 503."""

    code: int = 500
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RateLimited(Fault):
    """Answer 429 with a ``Retry-After`` header (seconds)."""

    retry_after: int = 1


@dataclass
class Slow(Fault):
    """Wait ``delay`` seconds before answering (longer than the client's read timeout)."""

    delay: float = 5.0
    times: int | None = None


@dataclass
class Truncated(Fault):
    """Announce the full Content-Length, send only ``send`` bytes, then close the connection."""

    send: int = 10


@dataclass
class Corrupted(Fault):
    """Serve the file with some bytes flipped (same length)."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]


class MirrorServer:
    """Threaded HTTP server on an ephemeral port of 127.0.0.1.

    Parameters
    ----------
    root
        Folder whose files are served under ``/`` (read only), or None for in-memory entries only.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root).resolve() if root is not None else None
        self.files: dict[str, bytes] = {}
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, list[list]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        # A short poll interval keeps shutdown (once per test) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> MirrorServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (slow handlers are woken up)."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- configuration ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` without a trailing slash."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def add_file(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``path``; return its URL."""
        self.files[_normalise(path)] = data
        return self.url(path)

    def script(self, path: str, *faults: Fault) -> None:
        """Queue faults for ``path``; each applies to ``times`` requests, in order."""
        with self._lock:
            self._faults.setdefault(_normalise(path), []).extend([f, f.times] for f in faults)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests whose path (without query) is ``path``."""
        wanted = _normalise(path)
        return [r for r in self.requests if _normalise(r.path) == wanted]

    # -- request handling (called from handler threads) -----------------------------------------
    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(path, [])
            while queue:
                fault, remaining = queue[0]
                if remaining is None:
                    return fault
                if remaining > 0:
                    queue[0][1] = remaining - 1
                    return fault
                queue.pop(0)
            return None

    def _content(self, path: str) -> bytes | None:
        if path in self.files:
            return self.files[path]
        if self.root is None:
            return None
        candidate = (self.root / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate.read_bytes()


def _normalise(path: str) -> str:
    return "/" + urllib.parse.urlsplit(path).path.lstrip("/")


def _make_handler(server: MirrorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle's algorithm and delayed
        # ACKs add about 40 ms to every request on a kept-alive connection.
        disable_nagle_algorithm = True

        def log_message(self, format, *args):
            """Keep test output quiet."""

        def do_GET(self) -> None:
            server.requests.append(RecordedRequest("GET", self.path, dict(self.headers.items())))
            path = _normalise(self.path)
            fault = server._next_fault(path)
            try:
                self._answer(path, fault)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (timeout) while we were still sleeping or writing.
                self.close_connection = True

        def _answer(self, path: str, fault: Fault | None) -> None:
            if isinstance(fault, Slow):
                server._stopping.wait(fault.delay)
                fault = None
            if isinstance(fault, NotFound):
                self._send(404, b"not found")
                return
            if isinstance(fault, RateLimited):
                self._send(429, b"too many requests", {"Retry-After": str(fault.retry_after)})
                return
            if isinstance(fault, Status):
                self._send(fault.code, f"status {fault.code}".encode(), fault.headers)
                return
            body = server._content(path)
            if body is None:
                self._send(404, b"not found")
                return
            if isinstance(fault, Corrupted):
                flipped = bytearray(body)
                for i in range(0, len(flipped), max(1, len(flipped) // 8)):
                    flipped[i] ^= 0xFF
                body = bytes(flipped)
            if isinstance(fault, Truncated):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body[: fault.send])
                self.wfile.flush()
                self.close_connection = True
                return
            content_type = "application/json" if path.endswith(("/", ".json")) else None
            self._send(200, body, {"Content-Type": content_type} if content_type else None)

        def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler
