"""The HTML page around the app, in French.

Streamlit 1.67 has no setting for the page's language (its ``index.html`` says
``<html lang="en">``, RGAA 8.3 asks for the real one) nor for the wording of its built-in widgets
(« Drag and drop a file here », « No results », « Download as CSV », « Help for … »).
``FrenchShell`` is an ASGI middleware, given to ``st.App(middleware=…)`` by ``serve.py``; it
rewrites Streamlit's ``index.html``, the one HTML answer behind every page of the app, on its
way out: ``lang="fr"``, a French title and ``<noscript>`` text, and ``french.js`` inlined before
Streamlit's own script, with the translation table of ``french_strings.json``. Every other
answer (scripts, websocket, components, uploads) passes through untouched.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Callable
from functools import cache
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
STRINGS = HERE / "french_strings.json"
SCRIPT = HERE / "french.js"
NOSCRIPT = (
    "Cette application a besoin de JavaScript : activez-le dans votre navigateur, "
    "puis rechargez la page."
)
# Path segments of Streamlit's non-page answers (base URL path or not): never rewritten.
_NOT_PAGES = ("/static/", "/_stcore/", "/component/", "/media/", "/app/static/")
_HTML_TAG = re.compile(r"<html\b[^>]*>", re.I)
_HEAD_TAG = re.compile(r"<head\b[^>]*>", re.I)
_TITLE = re.compile(r"<title>.*?</title>", re.I | re.S)
_NOSCRIPT = re.compile(r"<noscript>.*?</noscript>", re.I | re.S)
_ROOT = '<div id="root">'
_LOGGER = logging.getLogger(__name__)


def load_strings(path: Path = STRINGS) -> dict:
    """The translation table: ``{"attributes": [...], "exact": {...}, "patterns": [...]}``."""
    table = json.loads(path.read_text("utf-8"))
    for pattern, _ in table["patterns"]:
        re.compile(pattern.replace("(?<", "(?P<"))  # a broken pattern fails here, not in a browser
    return table


@cache
def inline_script() -> str:
    """``french.js`` with its table, ready to go between ``<script>`` tags."""
    table = json.dumps(load_strings(), ensure_ascii=False, separators=(",", ":"))
    table = table.replace("<", "\\u003c")  # no string of the table can close the <script>
    code = SCRIPT.read_text("utf-8").replace("(TABLE)", f"({table})")
    if "</script" in code.lower():
        raise ValueError(f"{SCRIPT} cannot be inlined: it contains '</script'")
    return code


def frenchify(html: str, *, title: str, head: str = "") -> str | None:
    """Streamlit's ``index.html`` in French; None for any other HTML (left as it is).

    ``head`` (HTML) goes in the ``<head>``, after the translations and before Streamlit's code.
    """
    if _ROOT not in html or not _HEAD_TAG.search(html) or not _HTML_TAG.search(html):
        return None
    html = _HTML_TAG.sub('<html lang="fr">', html, count=1)
    html = _HEAD_TAG.sub(
        lambda m: (
            f"{m.group(0)}\n    <script>{inline_script()}</script>"
            + (f"\n    {head}" if head else "")
        ),
        html,
        count=1,
    )
    html = _TITLE.sub(lambda _: f"<title>{escape(title)}</title>", html, count=1)
    return _NOSCRIPT.sub(lambda _: f"<noscript><p>{escape(NOSCRIPT)}</p></noscript>", html, count=1)


def _is_page_request(scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET":
        return False
    path = scope["path"] if scope["path"].endswith("/") else scope["path"] + "/"
    return not any(segment in path for segment in _NOT_PAGES)


class FrenchShell:
    """ASGI middleware serving Streamlit's page shell in French (see the module docstring).

    Parameters
    ----------
    app
        The ASGI app it wraps (Streamlit's).
    title : str
        The tab's title until the app sets its own.
    head : callable, optional
        Returns HTML for the page's ``<head>`` (``server.preload``); called at the first page
        asked for, when Streamlit's options are read.
    """

    def __init__(self, app, *, title: str = "Chargement…", head: Callable[[], str] | None = None):
        self.app = app
        self.title = title
        self.head = head
        inline_script()  # a missing or broken table stops the server now, not at the first visit

    async def __call__(self, scope, receive, send) -> None:
        if not _is_page_request(scope):
            await self.app(scope, receive, send)
            return
        # No "not modified" answer: the browser must get this rewritten page, never an English
        # copy it kept from before the launcher (ETag and Last-Modified are dropped below).
        scope = dict(scope)
        scope["headers"] = [
            (k, v) for k, v in scope["headers"] if k not in (b"if-none-match", b"if-modified-since")
        ]
        start: dict | None = None
        body: list[bytes] = []

        async def send_french(message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if message["status"] == 200 and content_type.startswith(b"text/html"):
                    start = message
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._send_rewritten(start, b"".join(body), send)

        await self.app(scope, receive, send_french)

    async def _send_rewritten(self, start: dict, payload: bytes, send) -> None:
        headers = dict(start.get("headers", []))
        gzipped = headers.get(b"content-encoding") == b"gzip"
        html = (gzip.decompress(payload) if gzipped else payload).decode("utf-8")
        french = frenchify(html, title=self.title, head=self.head() if self.head else "")
        if french is None:
            _LOGGER.warning('HTML page without Streamlit\'s <div id="root">: left in English')
        else:
            payload = french.encode("utf-8")
            payload = gzip.compress(payload, compresslevel=6) if gzipped else payload
        out = [
            (k, v)
            for k, v in start.get("headers", [])
            if k not in (b"content-length", b"etag", b"last-modified")
        ]
        out.append((b"content-length", str(len(payload)).encode()))
        await send({**start, "headers": out})
        await send({"type": "http.response.body", "body": payload})
