"""``TCP_NODELAY`` on every connection Streamlit's server accepts.

Why: Streamlit 1.67 binds its listening socket itself (``socket.socket(family)``, protocol 0)
and hands it to uvicorn. asyncio turns Nagle's algorithm off only for sockets whose protocol is
``IPPROTO_TCP`` (``asyncio.base_events._set_nodelay``), so the connections accepted on that
socket keep it on. uvicorn writes a response's headers and body separately: on a kept-alive
connection the second small write then waits for the ACK of the first, which the browser delays
by about 40 ms. Every request after the first on a connection (the ~60 JavaScript modules of a
first visit) and every websocket message paid those 40 ms (``bench/bench_shell.py``).

How: ``install()`` wraps ``uvicorn.Server.startup(sockets=…)``, the one call through which
Streamlit starts serving on its sockets, and sets ``TCP_NODELAY`` on each listening socket
before uvicorn accepts anything; Linux (like the BSDs) copies it to every accepted connection.
If a future uvicorn or Streamlit no longer goes through that call, ``install()`` or
``check_applied()`` raises instead of serving slowly without a word.
"""

from __future__ import annotations

import functools
import inspect
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

_MARK = "_qpv_tcp_nodelay"
_started: list[str] = []  # one entry per server started through the wrapper


class NoDelayHookError(RuntimeError):
    """The launcher cannot turn ``TCP_NODELAY`` on: the hook point changed."""


def set_nodelay(sock: socket.socket) -> bool:
    """Turn Nagle's algorithm off on a TCP socket; False for any other kind of socket."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        return False
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def install() -> None:
    """Wrap ``uvicorn.Server.startup`` so that its listening sockets have ``TCP_NODELAY``.

    Idempotent. Raises ``NoDelayHookError`` when uvicorn's ``Server.startup(sockets=…)`` is gone.
    """
    import uvicorn

    startup = getattr(uvicorn.Server, "startup", None)
    if getattr(startup, _MARK, False):
        return
    if startup is None or "sockets" not in inspect.signature(startup).parameters:
        raise NoDelayHookError(
            f"uvicorn {uvicorn.__version__} has no Server.startup(sockets=...): serve.py can no "
            "longer turn TCP_NODELAY on (each response would wait ~40 ms). Update "
            "server/nodelay.py for this version, or pin the versions in requirements.txt."
        )
    uvicorn.Server.startup = _with_nodelay(startup)


def _with_nodelay(startup: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(startup)
    async def startup_with_nodelay(self, sockets=None, **kwargs):
        if sockets is None:
            # uvicorn binds by itself through getaddrinfo (protocol IPPROTO_TCP): asyncio then
            # sets TCP_NODELAY on each connection, nothing to add.
            _started.append("bound by uvicorn")
        else:
            for sock in sockets:
                if set_nodelay(sock):
                    _started.append(str(sock.getsockname()))
        return await startup(self, sockets=sockets, **kwargs)

    setattr(startup_with_nodelay, _MARK, True)
    return startup_with_nodelay


def check_applied() -> None:
    """Raise ``NoDelayHookError`` unless a server was started through the wrapper."""
    if not _started:
        raise NoDelayHookError(
            "Streamlit started its server without going through uvicorn.Server.startup(sockets="
            "...): serve.py could not turn TCP_NODELAY on (each response would wait ~40 ms). "
            "Update server/nodelay.py for this Streamlit version."
        )


@asynccontextmanager
async def lifespan(_app: object) -> AsyncIterator[None]:
    """``st.App`` lifespan: refuse to serve if ``TCP_NODELAY`` could not be set.

    uvicorn runs the lifespan inside ``Server.startup``, after the wrapper has seen the sockets.
    """
    check_applied()
    yield
