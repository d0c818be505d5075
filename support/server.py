"""Starting the app the way users do (``streamlit run serve.py``), on a free port, and stopping it.

Shared by the tests and the benchmarks (never imported by the app). :func:`serve` starts a
script and yields a :class:`Server` (its process, URL, start time and log); :func:`run_streamlit`
waits for it to answer and yields its URL; :func:`stop_process` stops any child process, killing
it when it does not exit in time.
"""

from __future__ import annotations

import http.client
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
from pathlib import Path
from urllib.parse import urlsplit

from support import REPO_ROOT

LAUNCHER = REPO_ROOT / "serve.py"
APP = REPO_ROOT / "app.py"
STATIC_DIR = REPO_ROOT / "static"
APPS_DIR = Path(__file__).resolve().parent / "apps"
START_TIMEOUT_S = 180.0


class Server:
    """A ``streamlit run`` subprocess on 127.0.0.1; ``started`` is its ``perf_counter`` start."""

    def __init__(self, process: subprocess.Popen, url: str, started: float, log: Path):
        self.process = process
        self.url = url
        self.started = started
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_answering(self, path: str = "/", timeout: float = START_TIMEOUT_S) -> float:
        """Seconds from the start until ``path`` answers HTTP 200 (health checked first)."""
        deadline = time.monotonic() + timeout
        for probe in ("/_stcore/health", path):
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"streamlit exited with code {self.process.returncode}:\n{self.tail()}"
                    )
                try:
                    with urllib.request.urlopen(self.url + probe, timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.url}{probe} not answering:\n{self.tail()}")
                time.sleep(0.02)
        return time.perf_counter() - self.started

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@contextmanager
def serve(
    script: Path,
    *,
    env: Mapping[str, str] | None = None,
    launcher: bool = True,
    options: Sequence[str] = (),
    cwd: Path = REPO_ROOT,
) -> Iterator[Server]:
    """Serve ``script`` on a free port as users start the app, and stop it on exit.

    The server runs from the repository root (or ``cwd``), so ``.streamlit/config.toml``
    applies; the ``ui``/``geo`` packages import either way. Streamlit serves ``static/`` next to
    the *script*: a script living elsewhere (``support/apps/``) is copied into a temporary folder
    beside a link to the repository's ``static/``. ``launcher=False``: plain ``streamlit run
    script`` (no TCP_NODELAY, no French shell); ``options``: more ``--section.name value``
    settings.
    """
    script = Path(script).resolve()
    if not script.is_file():
        raise FileNotFoundError(f"no Streamlit script at {script}")
    port = free_port()
    child_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with tempfile.TemporaryDirectory(prefix="streamlit-") as tmp:
        script = _with_static_dir(script, Path(tmp))
        log_path = Path(tmp) / "streamlit.log"
        command = streamlit_command(script, port, launcher=launcher, options=options)
        with open(log_path, "wb") as log:
            started = time.perf_counter()
            process = subprocess.Popen(
                command, cwd=cwd, env=child_env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                yield Server(process, f"http://127.0.0.1:{port}", started, log_path)
            finally:
                stop_process(process)


@contextmanager
def run_streamlit(
    script: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    launcher: bool = True,
) -> Iterator[str]:
    """Serve ``script`` (:func:`serve`) and yield its base URL once ``/_stcore/health`` says ok.

    ``timeout`` is the seconds to wait for the health check; the process is stopped on exit.
    """
    with serve(script, env=env, launcher=launcher) as server:
        _wait_healthy(server, timeout)
        yield server.url


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


def _with_static_dir(script: Path, tmp: Path) -> Path:
    if (script.parent / "static").resolve() == STATIC_DIR.resolve():
        return script
    staged = tmp / script.name
    shutil.copy2(script, staged)
    (tmp / "static").symlink_to(STATIC_DIR, target_is_directory=True)
    return staged


def _wait_healthy(server: Server, timeout: float) -> None:
    base_url, process, log_path = server.url, server.process, server.log
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
