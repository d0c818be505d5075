"""Load test with a hostile visitor: do the others notice someone uploading the worst files?

The replay of ``bench/load_server.py`` (``bench/load.py``'s journey recorded once in Chromium,
then replayed by N virtual sessions without a browser), in two phases of ``--ramp`` +
``--duration`` s on the same server:

1. the N sessions alone: their step times are the baseline;
2. the same N sessions while one more visitor uploads, on ``/fichier``, every file of
   ``support/hostile_files.py`` in turn (an .xlsx whose only cell is XFD1048576, a header of
   300 000 columns, damaged workbooks, a file mixing two encodings...), as a browser does it:
   it asks the file's upload URL on its websocket (``file_urls_request``), sends the file with
   ``PUT /_stcore/upload_file/…`` and the XSRF token, reruns the page with the uploader's new
   state, and removes the previous file (``DELETE``), then pauses ``--upload-pause`` s.

Each upload must end in its French refusal on the page, or in the server's own HTTP 413 for the
one file over ``server.maxUploadSize`` (a browser would not even send it); anything else is an
error. Printed: p50/p95 of every step in both phases, the worst step's p95 with the uploader
against without (target: ratio under 2), the uploads made, their times and errors, the server's
CPU and memory.

Run: ``python bench/load_hostile.py`` (50 sessions, 120 s per phase: about 7 minutes with the
recording) or, to check that it works, ``python bench/load_hostile.py --sessions 5 --ramp 5
--duration 20 --think 3``. Nothing leaves 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench import _common, _journey, load_server
from bench._common import report, unescape_markdown
from support.hostile_files import FILES, HostileFile

PAGE = "fichier"  # url path of the file page
TARGET_RATIO = 2.0
XSRF_COOKIE = "_streamlit_xsrf"


@dataclass
class Uploads:
    """What the hostile visitor did and saw."""

    times: dict[str, list[float]] = field(default_factory=dict)  # key -> seconds per upload
    refused_by_server: dict[str, int] = field(default_factory=dict)  # key -> HTTP 413 count
    errors: list[tuple[str, str]] = field(default_factory=list)

    def count(self) -> int:
        return sum(map(len, self.times.values())) + sum(self.refused_by_server.values())


class UploaderConnection(load_server.Connection):
    """A websocket on ``/fichier`` that also keeps what a browser needs to upload a file."""

    def __init__(self, ws) -> None:
        super().__init__(ws)
        self.session_id = ""
        self.uploader_id = ""

    def read(self, msg: ForwardMsg, kind: str | None, run: load_server.Run) -> None:
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id or self.session_id
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "file_uploader":
                self.uploader_id = element.file_uploader.id
        super().read(msg, kind, run)

    async def file_urls(self, name: str, timeout: float) -> FileURLs:
        """Ask the server where to send a file, as the frontend does before uploading it."""
        msg = BackMsg()
        msg.file_urls_request.request_id = uuid.uuid4().hex
        msg.file_urls_request.session_id = self.session_id
        msg.file_urls_request.file_names.append(name)
        await self.ws.send(msg.SerializeToString())

        async def answer() -> FileURLs:
            while True:
                reply = ForwardMsg.FromString(await self.ws.recv())
                if reply.WhichOneof("type") == "file_urls_response":
                    if reply.file_urls_response.error_msg:
                        raise RuntimeError(reply.file_urls_response.error_msg)
                    return reply.file_urls_response.file_urls[0]

        return await asyncio.wait_for(answer(), timeout)

    def state(self, uploaded: UploadedFileInfo | None) -> ClientState:
        """The rerun a browser sends once a file is uploaded (or to open the page).

        The page is named by its URL path, as on a first visit of ``/fichier``.
        """
        state = ClientState(page_name=PAGE)
        if uploaded is not None:
            widget = state.widget_states.widgets.add()
            widget.id = self.uploader_id
            widget.file_uploader_state_value.uploaded_file_info.append(uploaded)
        return state


class HostileVisitor:
    """One visitor uploading the hostile files in turn on ``/fichier`` until a deadline."""

    def __init__(self, url: str, timeout: float, pause: float) -> None:
        self.url, self.timeout, self.pause = url, timeout, pause
        self.uploads = Uploads()
        self.http = requests.Session()
        self.http.trust_env = False  # 127.0.0.1 only, never through a proxy

    def xsrf_headers(self) -> dict[str, str]:
        token = self.http.cookies.get(XSRF_COOKIE)
        return {"X-Xsrftoken": token} if token else {}

    async def run(self, deadline: float) -> Uploads:
        response = await asyncio.to_thread(
            self.http.get, f"{self.url}/_stcore/health", timeout=self.timeout
        )
        response.raise_for_status()  # and the XSRF cookie is set
        connection = await UploaderConnection.open(self.url, self.timeout)
        try:
            await connection.rerun(connection.state(None), self.timeout)  # open /fichier
            if not connection.uploader_id:
                raise RuntimeError("no file uploader on /fichier")
            previous: FileURLs | None = None
            k = 0
            while time.monotonic() < deadline:
                hostile = FILES[k % len(FILES)]
                k += 1
                previous = await self.upload(connection, hostile, previous) or previous
                await asyncio.sleep(max(0.0, min(self.pause, deadline - time.monotonic())))
        finally:
            await connection.close()
            self.http.close()
        return self.uploads

    async def upload(
        self, connection: UploaderConnection, hostile: HostileFile, previous: FileURLs | None
    ) -> FileURLs | None:
        """One upload, timed from asking its URL to the end of the page's run."""
        data = hostile.data()
        start = time.perf_counter()
        try:
            urls = await connection.file_urls(hostile.filename, self.timeout)
            status = await asyncio.to_thread(self.put, urls.upload_url, hostile.filename, data)
            if status == 413:
                self.uploads.refused_by_server[hostile.key] = (
                    self.uploads.refused_by_server.get(hostile.key, 0) + 1
                )
                return None
            if status != 204:
                raise RuntimeError(f"upload answered HTTP {status}")
            info = UploadedFileInfo(
                name=hostile.filename, size=len(data), file_id=urls.file_id, file_urls=urls
            )
            run = await connection.rerun(connection.state(info), self.timeout)
            elapsed = time.perf_counter() - start
            shown = " ".join(unescape_markdown(b) for kind, b in run.texts if kind == "alert")
            if run.problems or not hostile.said(shown):
                raise RuntimeError("; ".join(run.problems) or f"not refused as expected: {shown!r}")
            self.uploads.times.setdefault(hostile.key, []).append(elapsed)
        except Exception as exc:  # every failure is counted and reported
            self.uploads.errors.append((hostile.key, f"{type(exc).__name__}: {exc}"[:300]))
            return None
        if previous is not None:  # the browser removes the file it replaces
            await asyncio.to_thread(self.delete, previous.delete_url)
        return urls

    def put(self, path: str, name: str, data: bytes) -> int:
        response = self.http.put(
            f"{self.url}{path}", files={"file": (name, data, "application/octet-stream")},
            headers=self.xsrf_headers(), timeout=self.timeout,
        )  # fmt: skip
        return response.status_code

    def delete(self, path: str) -> None:
        self.http.delete(f"{self.url}{path}", headers=self.xsrf_headers(), timeout=self.timeout)


# --------------------------------------------------------------------------------------------
# The two phases


async def phases(args, url: str, pid: int) -> dict:
    recording = await load_server.record(url, load_server.recorded_errands(args.errands))
    print(f"recorded: {load_server.describe(recording)}", flush=True)
    solo = await load_server.baseline(args, url, pid, recording)
    load_server.check_replay(recording, solo)
    quiet = await load_server.level(args, args.sessions, url, pid, recording)
    print(f"phase 1: {args.sessions} sessions alone, done", flush=True)
    visitor = HostileVisitor(url, args.timeout, args.upload_pause)
    deadline = time.monotonic() + args.ramp + args.duration
    hostile, uploads = await asyncio.gather(
        load_server.level(args, args.sessions, url, pid, recording), visitor.run(deadline)
    )
    print(f"phase 2: {args.sessions} sessions and the hostile visitor, done", flush=True)
    return {"solo": solo, "quiet": quiet, "hostile": hostile, "uploads": uploads}


def worst_p95(run: dict) -> tuple[str, float]:
    """The step with the highest p95 in a phase, and that p95."""
    p95 = {s: _common.percentile(t, 95) for s, t in run["tally"].times.items() if t}
    step = max(p95, key=p95.get)
    return step, p95[step]


def summarize(args, outcome: dict) -> list[dict]:
    quiet, hostile, uploads = outcome["quiet"], outcome["hostile"], outcome["uploads"]
    prefix = f"hostile load, {args.sessions} sessions"
    results = []
    for step in _journey.STEPS:
        before = quiet["tally"].times.get(step, [])
        during = hostile["tally"].times.get(step, [])
        if before and during:
            results.append(
                report(
                    f"{prefix}: {load_server.step_label(step)}, p95 with the uploader",
                    _common.percentile(during, 95),
                    "s",
                    baseline=_common.percentile(before, 95),
                    baseline_name="the same sessions without the uploader, p95",
                )
            )
    step, before = worst_p95(quiet)
    _, during = worst_p95(hostile)
    results.append(
        report(
            f"{prefix}: worst step p95 with the uploader (without: {step})",
            during,
            "s",
            baseline=before,
            baseline_name="worst step p95 without the uploader",
            target=f"ratio < {TARGET_RATIO:g}",
        )
    )
    errors = len(quiet["tally"].errors) + len(hostile["tally"].errors)
    results.append(report(f"{prefix}: errors of the other visitors", errors, "errors", target="0"))
    times = [t for values in uploads.times.values() for t in values]
    results.append(
        report(
            f"{prefix}: hostile uploads refused in French on the page",
            len(times),
            "uploads",
            target=f"all {uploads.count() - sum(uploads.refused_by_server.values())} the page "
            "received (the others: HTTP 413, over server.maxUploadSize)",
        )
    )
    if times:
        print(
            f"  uploads: {len(times)} refused on the page in {statistics.median(times):.2f} s "
            f"(median), {max(times):.2f} s at most; "
            f"{sum(uploads.refused_by_server.values())} refused by the server (HTTP 413)"
        )
    for key, values in uploads.times.items():
        print(f"  {key}: {len(values)} uploads, at most {max(values):.2f} s")
    for key, message in uploads.errors[:10]:
        print(f"  upload error, {key}: {message}")
    results.append(report(f"{prefix}: upload errors", len(uploads.errors), "errors", target="0"))
    for name, run in (("without", quiet), ("with", hostile)):
        print(
            f"  {name} the uploader: server CPU {run['server_cores']:.2f} core(s), RSS peak "
            f"{run['rss_peak']:.0f} MB, {len(run['tally'].errors)} error(s)"
        )
        for number, step_name, message in run["tally"].errors[:5]:
            print(f"    error, session {number}, step {step_name}: {message}")
    return results


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    load_server.add_replay_options(parser, duration=120, solo_journeys=1)
    parser.add_argument("--upload-pause", type=float, default=1.0, help="between two uploads")
    parser.add_argument("--json", type=Path, help="write the figures there too")
    args = parser.parse_args(argv)
    chromium = load_server.CHROMIUM  # records the journey
    if not chromium.exists():
        print(f"hostile load test skipped: {chromium} is absent (apt-get install chromium)")
        return []
    deadline = 300 + 2 * (args.ramp + args.duration + args.grace + load_server.SETTLE_S)
    print(
        f"hostile load: {args.sessions} sessions, {args.duration:g} s after a {args.ramp:g} s "
        f"ramp, without then with one visitor uploading {len(FILES)} hostile files in turn "
        f"(hard stop {deadline:g} s)"
    )
    outcome = load_server.replay_on_app(lambda url, pid: phases(args, url, pid), deadline)
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = summarize(args, outcome)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), "utf-8")
    return results


if __name__ == "__main__":
    main()
