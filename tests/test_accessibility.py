"""axe-core on every page of the app, in Chromium: no "serious" or "critical" violation.

axe-core is vendored in ``tests/vendor/axe-core/`` (CI installs Python packages only) and
injected into the main document of each page once the script has finished running. The map is
in the page, in its component's shadow root, which axe checks too (its controls, legends and
names); the table views are its text alternative. Every violation found is printed with its
rule, impact and CSS selectors, so that the owner of the page can find it.
"""

import json
from pathlib import Path

import pytest

from support import REPO_ROOT
from support.browser import wait_idle
from ui.leaflet import BASEMAP_ENV_VAR, NO_BASEMAP

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
PAGES = {
    "/": "Quartiers prioritaires",
    "/adresse": None,
    "/fichier": None,
    "/comparer?qpv=QN06224M,QN06227M": "Comparer des quartiers",
    "/presentation?commune=62498": "Lens",
    "/contrat-de-ville": "Le contrat de ville",
    "/sources": "Sources et limites",
}
# WCAG 2.1 A and AA rules, plus axe's best practices.
RUN_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
    "iframes": False,
}


@pytest.fixture(scope="module")
def app_url(start_streamlit):
    return start_streamlit(REPO_ROOT / "app.py", env={BASEMAP_ENV_VAR: NO_BASEMAP.key})


def settle(page, url: str, heading: str | None) -> None:
    """Open ``url`` and wait until the page shows its content and has stopped rerunning."""
    page.goto(url)
    if heading:
        page.get_by_role("heading", name=heading).first.wait_for()
    wait_idle(page, quiet_ms=2000)


def run_axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "options => axe.run(document, options).then(r => r.violations)", RUN_OPTIONS
    )


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            target = " >> ".join(
                json.dumps(t) if not isinstance(t, str) else t for t in node["target"]
            )
            lines.append(f"    {target}")
            lines.append(f"      {node['failureSummary'].splitlines()[-1].strip()}")
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.parametrize("path", list(PAGES))
def test_page_has_no_serious_accessibility_violation(browser_page, app_url, path):
    settle(browser_page, app_url + path, PAGES[path])

    violations = run_axe(browser_page)

    if violations:
        print(f"\naxe-core on {path}:\n{describe(violations)}")
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{path}:\n{describe(blocking)}"


@pytest.mark.browser
def test_axe_checks_the_map_inside_its_component(browser_page, app_url):
    settle(browser_page, app_url + "/", PAGES["/"])
    browser_page.locator(".leaflet-control-zoom-in").wait_for()
    browser_page.add_script_tag(path=str(AXE))

    checked = browser_page.evaluate(
        """options => axe.run(document, {...options, resultTypes: ["passes", "violations"]})
            .then(r => [...r.passes, ...r.violations].flatMap(rule => rule.nodes)
                .map(node => node.target).filter(target => Array.isArray(target[0]))
                .map(target => target[0][target[0].length - 1]))""",
        RUN_OPTIONS,
    )

    # Elements of the map's shadow root were judged: its zoom buttons, its layer control.
    assert ".leaflet-control-zoom-in" in checked
    assert ".leaflet-control-layers-toggle" in checked
