"""HTTP plumbing shared by every module that talks to the network.

One place decides the User-Agent, the timeouts and the retry policy: retry only on HTTP 429
(honouring ``Retry-After``) and 5xx, a bounded number of times; never on 4xx, never forever.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

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


def retry_after_seconds(response: requests.Response, default: float) -> float:
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
    wait = policy.backoff
    for attempt in range(1, policy.attempts + 1):
        last = attempt == policy.attempts
        try:
            response = session.request(method, url, timeout=timeout, **kwargs)
        except (requests.Timeout, requests.ConnectionError):
            if last:
                raise
            sleep(min(wait, policy.max_wait))
            wait *= 2
            continue
        if response.status_code not in RETRY_STATUSES or last:
            return response
        delay = retry_after_seconds(response, wait) if response.status_code == 429 else wait
        response.close()
        sleep(min(delay, policy.max_wait))
        wait *= 2
    raise AssertionError("unreachable: the loop returns or raises on its last attempt")
