"""HTTP plumbing shared by every module that talks to the network.

One place decides the User-Agent, the timeouts and the retry policy: retry only on HTTP 429
(honouring ``Retry-After``) and 5xx, a bounded number of times; never on 4xx, never forever.

Answers from a service we do not control (the address service) go through
:func:`fetch_bounded`, which bounds them before anything parses them (:class:`AnswerLimits`):

* size, counted after decompression and while streaming: a small gzip bomb is stopped after
  ``max_bytes`` of output, never inflated in memory;
* an overall deadline per call, across retries, redirects and every read (the read timeout of
  ``requests`` applies per read: a server sending one byte a second would otherwise hold the
  caller for as long as it likes);
* redirects only to the same origin (scheme, host, port), and only a few;
* JSON nesting depth, checked before ``json.loads`` (:func:`loads_bounded`).

Each broken limit raises a :class:`LimitError` subclass that the caller maps to its own message.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import requests
import urllib3.exceptions

from geo import __version__

USER_AGENT = f"carte-qpv-lens-lievin/{__version__} (+https://www.agglo-lenslievin.fr)"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT = 30.0  # never sleep longer than this on one Retry-After


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request that failed with 429 or 5xx."""

    attempts: int = 3
    backoff: float = 0.5  # first wait in seconds, doubled each time
    max_wait: float = MAX_RETRY_WAIT


def make_session() -> requests.Session:
    """Return a ``requests.Session`` that identifies the application."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def retry_after_seconds(response: requests.Response | Answer, default: float) -> float:
    """Seconds to wait according to a ``Retry-After`` header (delta or HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def request_with_retries(
    session: requests.Session,
    method: str,
    url: str,
    *,
    policy: RetryPolicy = RetryPolicy(),
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs,
) -> requests.Response:
    """Send a request, retrying on 429 and 5xx only, at most ``policy.attempts`` times.

    Returns the last response (whatever its status) so the caller decides what a 404 or a
    final 503 means. Connection errors and timeouts are retried like 5xx, then re-raised.

    Raises
    ------
    requests.Timeout, requests.ConnectionError
        When the last attempt still fails at the transport level.
    """
    return _with_retries(
        lambda: session.request(method, url, timeout=timeout, **kwargs),
        policy=policy,
        sleep=sleep,
        what=f"{method} {_path(url)}",
    )


def _with_retries(
    send: Callable[[], Any],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    what: str,
    budget: Deadline | None = None,
) -> Any:
    """Call ``send`` until its answer is not a 429/5xx, at most ``policy.attempts`` times.

    ``send`` returns anything with ``status_code``, ``headers`` and ``close()``. Transport
    errors are retried like 5xx. With a ``budget``, no attempt starts and no wait is begun that
    would outlive it: the last answer is returned (or ``DeadlineExceeded`` raised) instead.
    """
    wait = policy.backoff
    for attempt in range(1, policy.attempts + 1):
        last = attempt == policy.attempts
        if budget is not None and budget.expired:
            raise DeadlineExceeded(f"{what}: no time left before attempt {attempt}")
        try:
            answer = send()
        except (requests.Timeout, requests.ConnectionError):
            if budget is not None and budget.expired:
                raise DeadlineExceeded(f"{what}: deadline passed") from None
            if last or (budget is not None and wait >= budget.remaining()):
                raise
            sleep(min(wait, policy.max_wait))
            wait *= 2
            continue
        if answer.status_code not in RETRY_STATUSES or last:
            return answer
        delay = retry_after_seconds(answer, wait) if answer.status_code == 429 else wait
        delay = min(delay, policy.max_wait)
        if budget is not None and delay >= budget.remaining():
            return answer  # waiting would outlive the deadline: the caller reports the status
        answer.close()
        sleep(delay)
        wait *= 2
    raise AssertionError("unreachable: the loop returns or raises on its last attempt")


# --------------------------------------------------------------------------------------------
# Bounded answers

_CHUNK = 64 * 1024  # bytes read (and at most decompressed) per step
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_ACCEPT_ENCODING = "gzip, deflate"  # only what _Decoder can bound


class LimitError(Exception):
    """An answer broke one of the limits of :class:`AnswerLimits`."""


class AnswerTooLarge(LimitError):
    """More than ``max_bytes`` after decompression."""


class AnswerTooDeep(LimitError):
    """JSON nested deeper than ``max_depth``."""


class DeadlineExceeded(LimitError, TimeoutError):
    """The call's overall deadline passed."""


class RedirectRefused(LimitError):
    """A redirect to another origin, or more redirects than allowed."""


class EncodingRefused(LimitError):
    """A ``Content-Encoding`` that cannot be decompressed with a bound (or a corrupt stream)."""


@dataclass(frozen=True)
class AnswerLimits:
    """What one call may receive.

    Attributes
    ----------
    max_bytes : int
        Size of the body after decompression.
    max_depth : int
        Nesting of JSON arrays and objects (see :func:`loads_bounded`).
    deadline_s : float
        Seconds for the whole call: connection, retries and their waits, redirects, reading.
    max_redirects : int
        Redirects followed, each to the same origin only (0: none).
    """

    max_bytes: int = 1_000_000
    max_depth: int = 32
    deadline_s: float = 30.0
    max_redirects: int = 2


@dataclass
class Deadline:
    """A point in time after which a call gives up; may be bounded by a parent deadline.

    ``Deadline(5, parent=file_deadline)`` ends after 5 s or with the file's, whichever is first.
    """

    seconds: float
    parent: Deadline | None = None
    clock: Callable[[], float] = time.monotonic
    _end: float = field(init=False)

    def __post_init__(self) -> None:
        self._end = self.clock() + float(self.seconds)

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        own = max(0.0, self._end - self.clock())
        return own if self.parent is None else min(own, self.parent.remaining())

    @property
    def expired(self) -> bool:
        """No time left."""
        return self.remaining() <= 0.0


@dataclass(frozen=True)
class Answer:
    """A finished exchange: final status, headers, and the body (empty unless 2xx)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    url: str

    def close(self) -> None:
        """Nothing to release: the connection went back to the pool once the body was read."""


def fetch_bounded(
    session: requests.Session,
    method: str,
    url: str,
    *,
    limits: AnswerLimits = AnswerLimits(),
    policy: RetryPolicy = RetryPolicy(),
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    deadline: Deadline | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> Answer:
    """Send a request within ``limits``, retrying on 429 and 5xx like :func:`request_with_retries`.

    The body of a 2xx answer is streamed, decompressed with a bound and returned as bytes;
    other answers are returned without their body, for the caller to judge the status. No
    retry starts, and no ``Retry-After`` is waited, past the deadline.

    Parameters
    ----------
    deadline : Deadline, optional
        An enclosing deadline (e.g. a whole file's); this call ends at the earlier of it and
        ``limits.deadline_s`` from now.

    Raises
    ------
    DeadlineExceeded, AnswerTooLarge, RedirectRefused, EncodingRefused
        A limit was broken (never retried).
    requests.Timeout, requests.ConnectionError
        The last attempt failed at the transport level.
    """
    budget = Deadline(limits.deadline_s, parent=deadline)
    return _with_retries(
        lambda: _exchange(session, method, url, limits, timeout, budget, kwargs),
        policy=policy,
        sleep=sleep,
        what=f"{method} {_path(url)}",
        budget=budget,
    )


def _path(url: str) -> str:
    """The path of a URL, for messages: never its query (an address may be in it)."""
    return urllib.parse.urlsplit(url).path


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _exchange(
    session: requests.Session,
    method: str,
    url: str,
    limits: AnswerLimits,
    timeout: tuple[float, float],
    budget: Deadline,
    kwargs: dict[str, Any],
) -> Answer:
    """One attempt: the request, same-origin redirects, and the bounded body of a 2xx answer."""
    current, options = url, dict(kwargs)
    headers = {"Accept-Encoding": _ACCEPT_ENCODING, **(options.pop("headers", None) or {})}
    for hop in range(limits.max_redirects + 1):
        connect, read = (timeout, timeout) if isinstance(timeout, int | float) else timeout
        remaining = budget.remaining()
        response = session.request(
            method,
            current,
            timeout=(min(connect, remaining), min(read, remaining)),
            stream=True,
            allow_redirects=False,
            headers=headers,
            **options,
        )
        with response:
            location = response.headers.get("Location")
            if response.status_code in _REDIRECTS and location:
                target = urllib.parse.urljoin(current, location)
                if _origin(target) != _origin(url):
                    raise RedirectRefused(f"{method} {_path(url)}: redirected to another host")
                if hop == limits.max_redirects:
                    raise RedirectRefused(f"{method} {_path(url)}: more than {hop} redirects")
                if response.status_code in (301, 302, 303) and method.upper() != "GET":
                    raise RedirectRefused(f"{method} {_path(url)}: redirect would drop the body")
                current = target
                options.pop("params", None)  # the target carries its own query
                continue
            content = b""
            if 200 <= response.status_code < 300:
                content = _read_body(response, limits.max_bytes, read, budget)
            return Answer(response.status_code, response.headers, content, current)
    raise AssertionError("unreachable: the loop returns or raises on its last hop")


def _read_body(
    response: requests.Response, max_bytes: int, read_timeout: float, budget: Deadline
) -> bytes:
    """The body, decompressed, streamed within ``max_bytes`` and the deadline."""
    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    decoder = _Decoder(encoding)
    declared = response.headers.get("Content-Length", "")
    if encoding == "identity" and declared.isdigit() and int(declared) > max_bytes:
        raise AnswerTooLarge(f"{_path(response.url)}: {declared} bytes announced")
    raw = response.raw
    out = bytearray()
    while True:
        remaining = budget.remaining()
        if remaining <= 0:
            raise DeadlineExceeded(f"{_path(response.url)}: body not received in time")
        _limit_socket_wait(raw, min(read_timeout, remaining))
        try:
            chunk = raw.read1(_CHUNK, decode_content=False)
        except urllib3.exceptions.ReadTimeoutError:
            if budget.expired:
                raise DeadlineExceeded(f"{_path(response.url)}: body not in time") from None
            raise requests.ReadTimeout(f"{_path(response.url)}: read timed out") from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, OSError):
            raise requests.ConnectionError(f"{_path(response.url)}: body cut off") from None
        if not chunk:
            break
        decoder.feed(chunk, out, max_bytes)
    decoder.finish(out, max_bytes)
    return bytes(out)


def _limit_socket_wait(raw: Any, seconds: float) -> None:
    """Make the next blocking read of the connection wait ``seconds`` at most."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


class _Decoder:
    """Decompress with a bound: never more output than the caller still accepts."""

    def __init__(self, encoding: str):
        if encoding not in ("identity", *_ENCODINGS):
            raise EncodingRefused(f"unsupported Content-Encoding {encoding!r}")
        self.wbits = _ENCODINGS.get(encoding)
        self._zlib = zlib.decompressobj(self.wbits) if self.wbits else None
        self._first = True

    def feed(self, data: bytes, out: bytearray, max_bytes: int) -> None:
        if self._zlib is None:
            out += data
        while data and self._zlib is not None:
            try:
                piece = self._zlib.decompress(data, max_bytes - len(out) + 1)
            except zlib.error:
                if not (self._first and self.wbits == zlib.MAX_WBITS):
                    raise EncodingRefused("corrupt compressed body") from None
                # "deflate" is sometimes sent raw, without the zlib header.
                self.wbits = -zlib.MAX_WBITS
                self._zlib = zlib.decompressobj(self.wbits)
                continue
            self._first = False
            out += piece
            if len(out) > max_bytes:
                raise AnswerTooLarge(f"more than {max_bytes} bytes once decompressed")
            data = self._zlib.unconsumed_tail
            if not data and self._zlib.eof and self._zlib.unused_data:
                data = self._zlib.unused_data  # next gzip member
                self._zlib = zlib.decompressobj(self.wbits)
        if len(out) > max_bytes:
            raise AnswerTooLarge(f"more than {max_bytes} bytes")

    def finish(self, out: bytearray, max_bytes: int) -> None:
        if self._zlib is not None and not self._first and not self._zlib.eof:
            raise EncodingRefused("compressed body cut off")


# --------------------------------------------------------------------------------------------
# Bounded JSON

# A JSON string: quotes around any run of non-quote, non-backslash bytes or escapes.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def json_depth(content: bytes) -> int:
    """Deepest nesting of arrays and objects in a JSON text (brackets inside strings ignored).

    Linear time and no recursion, so it can run on any input before ``json.loads``.
    """
    codes = np.frombuffer(_JSON_STRING.sub(b'""', content), dtype=np.uint8)
    if codes.size == 0:
        return 0
    opens = (codes == ord("[")) | (codes == ord("{"))
    closes = (codes == ord("]")) | (codes == ord("}"))
    return int(np.cumsum(opens.astype(np.int64) - closes.astype(np.int64)).max(initial=0))


def loads_bounded(content: bytes, *, max_depth: int) -> Any:
    """``json.loads`` of UTF-8 bytes nested at most ``max_depth`` deep.

    Raises
    ------
    AnswerTooDeep
        Nested deeper (checked before parsing).
    ValueError
        Not UTF-8, or not JSON.
    """
    depth = json_depth(content)
    if depth > max_depth:
        raise AnswerTooDeep(f"JSON nested {depth} deep (at most {max_depth})")
    try:
        return json.loads(content.decode("utf-8"))
    except RecursionError:
        raise AnswerTooDeep(f"JSON nested too deep (at most {max_depth})") from None


# --------------------------------------------------------------------------------------------
# Pooling and pacing


class SessionPool:
    """Sessions lent to one caller at a time, kept between calls (their connections stay open).

    A ``requests.Session`` is not meant to be shared by threads at once, and a new one per call
    pays a new connection (and TLS handshake) each time: a suggestion while typing must not.
    """

    def __init__(self, size: int = 8):
        self._idle: list[requests.Session] = []
        self._size = size
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def borrow(self) -> Iterator[requests.Session]:
        """A session for the duration of a ``with`` block."""
        with self._lock:
            session = self._idle.pop() if self._idle else make_session()
        try:
            yield session
        finally:
            with self._lock:
                if len(self._idle) < self._size:
                    self._idle.append(session)
                    session = None
            if session is not None:
                session.close()


class TokenBucket:
    """At most ``rate`` events per second on average, ``burst`` at once; thread-safe.

    Used to stay under a service's per-IP quota when every visitor's requests leave from the
    same server: :meth:`take` says whether a request may be sent now, it never waits.
    """

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self._clock = float(rate), int(burst), clock
        self._tokens, self._at = float(burst), clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True
