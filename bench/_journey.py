"""A resident's journey through the app in a real browser, shared by the load tests.

``bench/load.py`` runs it in many Chromium sessions; ``bench/load_server.py`` records it once and
replays its messages. The steps (:data:`STEPS`, :data:`JOURNEY`), what each session asks for
(:class:`Errand`, :func:`errands`), how a step waits for the page, and the browser both use.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from bench._common import percentile, report
from geo.coordinates import WGS84
from support import default_mirror
from support.browser import CHROMIUM, CHROMIUM_ARGS

QUARTIER = "path.leaflet-interactive.qpv-quartier"
STEPS = ("visite", "commune", "quartier", "adresse", "point", "carte")
STEP_LABELS = {
    "visite": "first visit: open the map (page load, quartiers drawn)",
    "commune": "filter a commune",
    "quartier": "open a quartier's fact panel",
    "adresse": "open /adresse from the menu (its map drawn)",
    "point": "look up a point by coordinates on /adresse",
    "carte": "back to the map from the menu (quartiers drawn)",
}
ERRAND_STEPS = STEPS[1:]
MENU_MAP = "Carte des quartiers"
MENU_ADDRESS = "Suis-je en QPV ?"
IDLE = """() => document.querySelector('[data-testid="stApp"]')
    ?.dataset.testScriptState === 'notRunning'"""
STEP_TIMEOUT_MS = 60_000
TARGET_P95_S = 2.0


@dataclass(frozen=True)
class Errand:
    """What one session asks for: a commune, a quartier and a point."""

    commune_code: str
    commune_name: str
    qpv_code: str
    qpv_name: str
    lon: float
    lat: float


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    journeys: int = 0
    page_loads: int = 0  # each opens a Streamlit session
    # CPU seconds per step: (Chromium + Playwright's driver, server), measured alone only
    cpu: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))


def errands() -> list[Errand]:
    """One errand per quartier of the contract in the map's default perimeters (those in
    force): its first commune of the territory (the map's commune filter lists no other) and
    an inner point."""
    from geo import generations
    from geo.build import ensure_built
    from geo.store import load_dataset

    ensure_built(mirror=default_mirror())  # what the server would do on its first page
    dataset = load_dataset()
    qpv = dataset.qpv_of(generations.DEFAULT, include_neighbouring=False).sort_values("code")
    names = dict(zip(dataset.communes["code"], dataset.communes["name"], strict=True))
    points = qpv.geometry.representative_point().to_crs(WGS84)
    out = []
    for (_, row), point in zip(qpv.iterrows(), points, strict=True):
        commune = next(c for c in row["commune_codes"].split(",") if c in names)
        out.append(Errand(commune, names[commune], row["code"], row["name"], point.x, point.y))
    return out


# --------------------------------------------------------------------------------------------
# The journey


async def settle(page) -> None:
    """Wait until the script run triggered by the last action is over."""
    await page.wait_for_function(IDLE, timeout=STEP_TIMEOUT_MS)


async def param_is(page, key: str, value: str) -> None:
    await page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.search).get(k) === v",
        arg=[key, value],
        timeout=STEP_TIMEOUT_MS,
    )


async def check_no_exception(page, step: str) -> None:
    if await page.get_by_test_id("stException").count():
        text = await page.get_by_test_id("stException").first.inner_text()
        raise RuntimeError(f"Python exception shown at step {step}: {text[:200]}")


async def pick(page, label: str, typed: str, option: re.Pattern):
    """Type into a picker and return its first option matching ``option``, once visible."""
    box = page.get_by_role("combobox", name=label)
    await box.click()
    await box.fill(typed)
    choice = page.get_by_role("option", name=option).first
    await choice.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    return box, choice


async def map_drawn(page) -> None:
    """Wait for a quartier drawn on the page's map.

    Any quartier: /adresse keeps the last point looked up and zooms on it, and Leaflet leaves
    the quartiers out of view undrawn (an empty path).
    """
    quartiers = page.locator(QUARTIER)  # in the map's shadow root, which locators enter
    await quartiers.filter(visible=True).first.wait_for(timeout=STEP_TIMEOUT_MS)


async def from_menu(page, title: str) -> None:
    """Follow a link of the app's menu (navigation inside the app, no page load)."""
    await page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()


async def step_visit(page, url: str, errand: Errand) -> float:
    start = time.perf_counter()
    # "commit": the step's own wait (quartiers drawn) bounds the whole page load.
    await page.goto(url + "/", timeout=STEP_TIMEOUT_MS, wait_until="commit")
    await map_drawn(page)
    return time.perf_counter() - start


async def step_commune(page, url: str, errand: Errand) -> float:
    await settle(page)  # the previous step's run is over, as a user sees the page ready
    pattern = re.compile("^" + re.escape(errand.commune_name))
    box, choice = await pick(page, "Communes", errand.commune_name, pattern)
    start = time.perf_counter()
    await choice.click()
    await param_is(page, "commune", errand.commune_code)
    await settle(page)
    elapsed = time.perf_counter() - start
    await box.press("Escape")  # a multiselect stays open, hiding the rest of the page
    return elapsed


async def step_quartier(page, url: str, errand: Errand) -> float:
    await settle(page)
    pattern = re.compile(re.escape(errand.qpv_code))
    _, choice = await pick(page, "Fiche d'un quartier", errand.qpv_code, pattern)
    start = time.perf_counter()
    await choice.click()
    await param_is(page, "qpv", errand.qpv_code)
    await settle(page)
    await page.get_by_role("heading", name=errand.qpv_name, exact=True).first.wait_for(
        state="visible", timeout=STEP_TIMEOUT_MS
    )
    return time.perf_counter() - start


async def step_address_page(page, url: str, errand: Errand) -> float:
    start = time.perf_counter()
    await from_menu(page, MENU_ADDRESS)
    await page.get_by_text("Saisir des coordonnées").wait_for(timeout=STEP_TIMEOUT_MS)
    await map_drawn(page)
    await settle(page)  # the page as a user sees it ready: map drawn, not greyed out
    return time.perf_counter() - start


async def step_point(page, url: str, errand: Errand) -> float:
    start = time.perf_counter()
    await point_by_coordinates(page, errand)
    return time.perf_counter() - start


async def step_back_to_map(page, url: str, errand: Errand) -> float:
    start = time.perf_counter()
    await from_menu(page, MENU_MAP)
    await param_absent(page, "commune")  # the map opens on the whole territory again
    await map_drawn(page)
    return time.perf_counter() - start


async def param_absent(page, key: str) -> None:
    await page.wait_for_function(
        "k => location.pathname.endsWith('/') && !new URLSearchParams(location.search).has(k)",
        arg=key,
        timeout=STEP_TIMEOUT_MS,
    )


async def point_by_coordinates(page, errand: Errand) -> None:
    """Enter the errand's point on /adresse and wait for its verdicts."""
    from geo.format import fr_number

    await page.get_by_text("Saisir des coordonnées").click()
    await page.get_by_label("Longitude (degrés)").fill(fr_number(errand.lon, 6))
    await page.get_by_label("Latitude (degrés)").fill(fr_number(errand.lat, 6))
    await page.get_by_role("button", name=re.compile("Situer ce point")).click()
    await page.get_by_text("Coordonnées saisies").first.wait_for(
        state="visible", timeout=STEP_TIMEOUT_MS
    )
    await page.get_by_text(f"({errand.qpv_code})").first.wait_for(
        state="visible", timeout=STEP_TIMEOUT_MS
    )


JOURNEY = {
    "visite": step_visit,
    "commune": step_commune,
    "quartier": step_quartier,
    "adresse": step_address_page,
    "point": step_point,
    "carte": step_back_to_map,
}


# Offline by name resolution: every host but the loopback fails to resolve, as on a machine
# without internet. Cheaper than intercepting each request (which costs the load script and
# Playwright's driver about a tenth of Chromium's CPU on a page load).
OFFLINE_ARGS = ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",)


async def launch_browser(playwright):
    """One headless Debian Chromium for every session, unable to reach beyond 127.0.0.1."""
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *OFFLINE_ARGS]
    )


async def new_context(browser):
    return await browser.new_context(viewport={"width": 1200, "height": 900}, locale="fr-FR")


# --------------------------------------------------------------------------------------------
# Its figures


def step_figures(
    prefix: str, crowd: Results, solo: Results, label: Callable[[str], str]
) -> list[dict]:
    """p50/p95 of every step under load against the same step alone (printed and returned)."""
    results = []
    for step in STEPS:
        times, base = crowd.times.get(step, []), solo.times.get(step, [])
        if not times:
            continue
        print(
            f"  {step}: {len(times)} runs, p50 {percentile(times, 50):.2f} s, "
            f"p95 {percentile(times, 95):.2f} s, max {max(times):.2f} s "
            f"(alone: p50 {percentile(base, 50):.2f} s)"
        )
        for q in (50, 95):
            results.append(
                report(
                    f"{prefix}: {label(step)}, p{q}",
                    percentile(times, q),
                    "s",
                    baseline=percentile(base, q) if base else None,
                    baseline_name=f"one session alone, p{q}",
                    target=f"< {TARGET_P95_S:g} s" if q == 95 else "",
                )
            )
    return results


def memory_figure(prefix: str, growth: float, outcome: dict) -> dict:
    """The server's memory growth per session against the growth the first session caused."""
    return report(
        f"{prefix}: server memory growth per session",
        growth,
        "MB",
        baseline=outcome["rss_warm"] - outcome["rss_start"],
        baseline_name="growth with the first session (imports, data, locator, map layers)",
        target="a small fraction of the baseline",
    )


def loads_figure(prefix: str, loads: int, opened: int, opened_by: str) -> dict:
    """How many times the server loaded the tables, against the sessions opened."""
    return report(
        f"{prefix}: loads of the processed tables by the server",
        loads,
        "loads",
        baseline=opened,
        baseline_name=f"Streamlit sessions opened (one per {opened_by})",
        target="1 (once per process)",
    )
