"""Calls run a few at a time, answers taken in order: the bulk geocoding's pace.

:func:`ordered_map` runs ``fn`` on each item in a small pool of threads, never more than
``workers`` in flight (nor submitted ahead: the items not yet sent cost nothing), each call
starting at most ``rate`` times a second (a service's quota), and yields the answers in the
items' order whatever order they come back in. The first error is raised once the answers
before it are given, and the calls not yet started are cancelled.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], *, workers: int, rate: float
) -> Iterator[R]:
    """``fn(item)`` for each item, ``workers`` at a time, at most ``rate`` starts a second."""
    pacer = Pacer(rate)

    def paced(item: T) -> R:
        pacer.wait()
        return fn(item)

    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
        pending: collections.deque[concurrent.futures.Future[R]] = collections.deque()
        try:
            for item in items:
                pending.append(pool.submit(paced, item))
                if len(pending) >= max(1, workers):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


class Pacer:
    """Spaces the starts of calls made from several threads: at most ``rate`` a second."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Return when the next call may start (at once if the last one is old enough)."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)
