"""An offline Chromium for the real-browser tests and benchmarks (Debian's, driven by Playwright).

Shared by the tests and the benchmarks (never imported by the app). Nothing here reaches beyond
127.0.0.1: Chromium's requests to any other host are recorded and aborted
(:func:`record_requests`, :func:`offline_context`), which is also how a machine with no internet
is simulated.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
# playwright cannot download its own browser here: Debian's Chromium, quiet and offline.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def is_local(url: str) -> bool:
    """True for URLs on this machine (loopback) and for ``data:``/``blob:``/``about:`` URLs."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


@dataclass
class RequestLog:
    """Every URL a browser context asked for, in order; non-local ones were aborted."""

    urls: list[str] = field(default_factory=list)

    def external(self) -> list[str]:
        """URLs that would have left the machine."""
        return [url for url in self.urls if not is_local(url)]

    def external_assets(self) -> list[str]:
        """External URLs of scripts and style sheets (what a CDN would serve)."""
        return [url for url in self.external() if urlsplit(url).path.endswith((".js", ".css"))]

    def matching(self, fragment: str) -> list[str]:
        """URLs containing ``fragment``."""
        return [url for url in self.urls if fragment in url]


def record_requests(context) -> RequestLog:
    """Record every request of a Playwright ``BrowserContext``, aborting non-local ones.

    Aborting (rather than letting Chromium try) keeps tests off the internet and makes
    "offline" the same on every machine, whether it has a network or not.
    """
    log = RequestLog()

    def handle(route):
        url = route.request.url
        log.urls.append(url)
        if is_local(url):
            route.continue_()
        else:
            route.abort("internetdisconnected")

    context.route("**/*", handle)
    return log


def launch_chromium(playwright):
    """Launch Debian's Chromium headless with ``CHROMIUM_ARGS``."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
    )


def wait_idle(page, *, quiet_ms: int = 1500) -> None:
    """Wait until the script has not run for ``quiet_ms`` (shared by the browser tests).

    A component's first value (the map) triggers another run, during which Streamlit fades the
    page's elements and ignores key shortcuts: axe would measure faded colours, a key press
    could be lost.
    """
    page.wait_for_function(
        """quietMs => new Promise(resolve => {
            let since = performance.now();
            const tick = () => {
                const app = document.querySelector('[data-testid="stApp"]');
                if (!app || app.dataset.testScriptState !== "notRunning") since = performance.now();
                if (performance.now() - since >= quietMs) resolve(true);
                else setTimeout(tick, 100);
            };
            tick();
        })""",
        arg=quiet_ms,
    )


# Is ``css`` (a selector) drawn, or ``text`` written, anywhere in the page, shadow roots included
# (the map component draws in its own)? Drawn: its box has a size.
_SHOWN = """({css, text}) => {
    if (text !== null) return document.body !== null && document.body.innerText.includes(text);
    const roots = [document];
    for (const root of roots) {
        for (const hit of root.querySelectorAll(css)) {
            const box = hit.getBoundingClientRect();
            if (box.width > 0 && box.height > 0) return true;
        }
        for (const element of root.querySelectorAll("*")) {
            if (element.shadowRoot) roots.push(element.shadowRoot);
        }
    }
    return false;
}"""


def wait_shown(page, *, css: str | None = None, text: str | None = None, timeout_ms: int) -> None:
    """Wait until ``css`` is drawn (a box with a size) or ``text`` is on the page, checked on
    every frame.

    For timings: Playwright's own waits check again after 20, 50, 100, 100, then every 500 ms,
    so what appears a second after the wait began is seen up to half a second late, and what
    appears early almost at once. The benchmarks compare pages that draw at different times:
    each is checked on every frame, the same way.
    """
    if (css is None) == (text is None):
        raise ValueError("give css or text")
    page.wait_for_function(_SHOWN, arg={"css": css, "text": text}, polling="raf",
                           timeout=timeout_ms)  # fmt: skip


def offline_context(browser, *, width: int = 1200, height: int = 900):
    """A French browser context that cannot reach beyond 127.0.0.1 (no tiles, no CDN)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if is_local(route.request.url)
            else route.abort("internetdisconnected")
        ),
    )
    return context
