"""The protocol-level load test (``bench/load_server.py``) replays the resident's journey for real.

One Chromium session runs the resident's journey (``bench/_journey.py``) while its websocket
messages are recorded; one virtual session (no browser) then replays them: the server must
answer the fact panel step with the quartier's heading and the point step with the verdict
naming its code. The check must also fail when it expects another quartier's answer, or it
would prove nothing.
"""

import asyncio
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.mirror, pytest.mark.timeout(180)]


def run_async(coroutine):
    """Run a coroutine to its end in a thread of its own.

    The browser tests' sync Playwright keeps an event loop running in the main thread, where
    ``asyncio.run`` would refuse to start.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def recorded(processed, mirror_dir):
    """(server URL, a recording of one errand), the server kept running for the replays."""
    from bench import load_server
    from bench._common import streamlit_server
    from support import REPO_ROOT

    env = {"QPV_BASEMAP": "aucun", "QPV_DATA_MIRROR": str(mirror_dir)}
    with streamlit_server(REPO_ROOT / "app.py", env=env) as server:
        server.wait_answering()
        errands = load_server.recorded_errands(1)
        yield server.url, run_async(load_server.record(server.url, errands))


def replay_once(url: str, recording):
    from bench import load_server

    tally = load_server.Tally()
    session = load_server.run_session(
        0, url, recording, tally, deadline=time.monotonic() + 60, think=0, timeout=30,
        max_steps=load_server.steps_per_pass(recording),
    )  # fmt: skip
    run_async(session)
    return tally


def test_recording_holds_one_rerun_per_step(recorded):
    from bench import _journey

    _, recording = recorded
    steps = [*recording.opening, *recording.errands[0]]
    assert [s.name for s in steps] == list(_journey.STEPS)
    assert all(s.reruns for s in steps), [s.name for s in steps if not s.reruns]
    assert steps[0].new_connection  # the first visit opens the websocket


def test_replay_brings_the_quartier_and_its_verdict(recorded):
    from bench import load_server

    url, recording = recorded
    tally = replay_once(url, recording)
    load_server.check_replay(recording, tally)  # raises ReplayMismatch otherwise
    assert tally.checked == 2
    assert not tally.errors
    # Every rerun the browser sent, once (the first visit's two: the map, then the rest of the
    # page once the map is drawn).
    steps = [*recording.opening, *(step for errand in recording.errands for step in errand)]
    assert tally.reruns == sum(len(step.reruns) for step in steps)


def test_check_fails_when_another_quartier_is_expected(recorded):
    from bench import _journey, load_server

    url, recording = recorded
    actual = recording.errands[0][0].errand
    other = next(e for e in _journey.errands() if actual.qpv_name not in e.qpv_name)
    wrong = dataclasses.replace(
        recording, errands=[[dataclasses.replace(s, errand=other) for s in recording.errands[0]]]
    )
    tally = replay_once(url, wrong)
    assert {step for _, step, _ in tally.errors} == {"quartier"}  # the session stops there
    assert other.qpv_name in tally.errors[0][2]
    with pytest.raises(load_server.ReplayMismatch, match="does not reproduce the journey"):
        load_server.check_replay(wrong, tally)
