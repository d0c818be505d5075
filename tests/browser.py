"""Real-browser test plumbing: a ``streamlit run`` subprocess and an offline Chromium.

Used by the fixtures in ``tests/conftest.py``; importable on its own for a one-off script.
Nothing here reaches beyond 127.0.0.1: Chromium's requests to any other host are recorded and
aborted, which is also how the tests simulate a machine with no internet.
"""

import http.client
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = REPO_ROOT / "serve.py"
APP = REPO_ROOT / "app.py"
STATIC_DIR = REPO_ROOT / "static"
APPS_DIR = Path(__file__).resolve().parent / "apps"

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


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamlit_command(
    script: Path, port: int, *, launcher: bool = True, options: Sequence[str] = ()
) -> list[str]:
    """The command serving ``script`` on 127.0.0.1:``port`` as a user starts the app.

    ``app.py`` is served by ``streamlit run serve.py`` (README); another script by
    ``streamlit run serve.py -- script``. ``launcher=False``: plain ``streamlit run script``
    (no TCP_NODELAY, no French shell), for comparisons. ``options``: more ``--section.name
    value`` settings.
    """
    options = [
        *("--server.port", str(port), "--server.headless", "true"),
        *("--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"),
        *options,
    ]
    run = [sys.executable, "-m", "streamlit", "run"]
    if not launcher:
        return [*run, str(script), *options]
    if Path(script).resolve() == APP:
        return [*run, str(LAUNCHER), *options]
    return [*run, str(LAUNCHER), *options, "--", str(script)]


@contextmanager
def run_streamlit(
    script: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    launcher: bool = True,
) -> Iterator[str]:
    """Serve ``script`` on a free port (``streamlit_command``) and yield its base URL.

    The server runs from the repository root, so ``.streamlit/config.toml`` applies and the
    ``ui``/``geo`` packages import. Streamlit serves ``static/`` next to the *script*: a script
    living elsewhere (``tests/apps/``) is copied into a temporary folder beside a link to the
    repository's ``static/``. The process is stopped on exit, whatever happened.

    Parameters
    ----------
    script : Path
        The Streamlit script.
    env : Mapping, optional
        Variables added to the current environment (e.g. ``{"QPV_BASEMAP": "aucun"}``).
    timeout : float
        Seconds to wait for ``/_stcore/health`` to answer ``ok``.
    launcher : bool
        False: plain ``streamlit run script``, without ``serve.py``.
    """
    script = Path(script).resolve()
    if not script.is_file():
        raise FileNotFoundError(f"no Streamlit script at {script}")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    child_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with tempfile.TemporaryDirectory(prefix="streamlit-test-") as tmp:
        script = _with_static_dir(script, Path(tmp))
        log_path = Path(tmp) / "streamlit.log"
        command = streamlit_command(script, port, launcher=launcher)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                _wait_healthy(base_url, process, log_path, timeout)
                yield base_url
            finally:
                stop_process(process)


def _with_static_dir(script: Path, tmp: Path) -> Path:
    if (script.parent / "static").resolve() == STATIC_DIR.resolve():
        return script
    staged = tmp / script.name
    shutil.copy2(script, staged)
    (tmp / "static").symlink_to(STATIC_DIR, target_is_directory=True)
    return staged


def _wait_healthy(base_url: str, process: subprocess.Popen, log_path: Path, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {process.returncode} before answering:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(
        f"streamlit at {base_url} not healthy after {timeout:.0f} s:\n"
        + log_path.read_text(errors="replace")[-3000:]
    )


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a child process, then kill it if it does not exit within 10 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def keep_alive_times(
    base_url: str, path: str = "/_stcore/health", *, requests: int = 15
) -> list[float]:
    """Seconds taken by each of ``requests`` GETs of ``path`` on one kept-alive connection.

    One more request opens the connection first and is not counted: what is measured is the
    server's answer on a connection it already accepted (where Nagle's algorithm bites).
    """
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    times = []
    try:
        for _ in range(requests + 1):
            start = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200 or response.will_close:
                raise RuntimeError(
                    f"{base_url}{path}: HTTP {response.status}, "
                    f"{'connection closed' if response.will_close else 'kept alive'}"
                )
            times.append(time.perf_counter() - start)
    finally:
        connection.close()
    return times[1:]  # the first one opened the connection


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
