"""Every hostile file uploaded on ``/fichier``, and hostile links, in a capped AppTest process.

``page_runner.py`` plays one visitor uploading every file of ``support/hostile_files.py`` in
turn, then an ordinary file, then links with hostile query strings; it runs once for the module,
its address space capped at 1 GB (the files are built beforehand, outside the cap). Each upload
must end within 10 s in the page's French error (no Python exception, no « Vérifier » button),
the ordinary file must still be read afterwards, and the process's peak memory must stay under
1 GB.
"""

import json
import sys
from pathlib import Path

import pytest
from capped import PEAK_LIMIT_MB, TIME_LIMIT_S, run_capped

from support.hostile_files import FILES

RUNNER = Path(__file__).with_name("page_runner.py")

pytestmark = [pytest.mark.mirror, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def visits(processed, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("page")
    for hostile in FILES:  # built here: the capped process only reads them, as a visitor sends
        (folder / hostile.key).mkdir()
        (folder / hostile.key / hostile.filename).write_bytes(hostile.data())
    out = folder / "visits.json"
    done = run_capped(
        [sys.executable, str(RUNNER), str(out), str(folder)],
        address_space_mb=PEAK_LIMIT_MB,
        timeout=240,
        env={"QPV_BASEMAP": "aucun"},
    )
    assert done.returncode == 0 and out.is_file(), done.stderr[-3000:]
    results = json.loads(out.read_text("utf-8"))
    results["process"] = {"peak_mb": done.peak_mb, "seconds": done.seconds}
    return results


@pytest.mark.parametrize("hostile", FILES, ids=lambda f: f.key)
def test_a_hostile_upload_shows_the_french_refusal_within_the_budget(visits, hostile, measurements):
    visit = visits[hostile.key]
    shown = (visit.get("errors") or [""])[0]
    measurements.append(
        (hostile.key, hostile.limit, "page `/fichier`", visit["seconds"], visit["peak_mb"],
         shown[:90])
    )  # fmt: skip

    assert "timeout" not in visit, visit.get("timeout")
    assert visit["seconds"] < TIME_LIMIT_S
    assert visit["exceptions"] == []
    assert len(visit["errors"]) == 1 and hostile.said(shown), visit["errors"]
    assert not visit["check_button"] and visit["tables"] == 0


def test_after_every_hostile_upload_an_ordinary_file_is_still_read(visits):
    visit = visits["ordinary-after"]

    assert visit["errors"] == [] and visit["exceptions"] == []
    assert visit["check_button"]


def test_the_page_process_stayed_under_1_gb(visits):
    assert visits["process"]["peak_mb"] < PEAK_LIMIT_MB


def test_a_population_too_large_for_a_number_is_a_french_warning(visits, measurements):
    visit = visits["link-population-overflow"]
    measurements.append(("`/?pop=0-1` + 311 zeros", "9 chiffres", "page `/`", visit["seconds"],
                         visit["peak_mb"], visit["warnings"][0][:90]))  # fmt: skip

    assert visit["exceptions"] == [] and visit["errors"] == []
    assert visit["warnings"][0].startswith("Tranche de population illisible : « 0-1000")


def test_25000_unknown_communes_give_two_warnings_and_a_zero_width_code_is_found(
    visits, measurements
):
    visit = visits["link-25000-communes"]
    measurements.append(("`/?commune=` 25 000 unknown codes, `qpv=` with a zero-width space",
                         "50 codes", "page `/`", visit["seconds"], visit["peak_mb"],
                         visit["warnings"][-1][:90]))  # fmt: skip

    assert visit["exceptions"] == []
    assert visit["warnings"] == [
        "Le lien donne plus de 50 codes pour « commune » : seuls les 50 premiers sont lus.",
        "Communes inconnues : « X0 », « X1 », « X2 », « X3 », « X4 » et 45 autres ne sont pas "
        "des codes Insee de communes du territoire (CA de Lens - Liévin) ; ces filtres sont "
        "ignorés.",
    ]
    assert "Grande Résidence" in visit["subheaders"]  # the quartier's panel is open


def test_25000_unknown_quartiers_give_one_warning_and_the_known_ones_compared(visits, measurements):
    visit = visits["link-25000-quartiers"]
    case = "`/comparer?qpv=` 25 000 unknown codes"
    measurements.append((case, "50 codes", "page `/comparer`", visit["seconds"],
                         visit["peak_mb"], visit["warnings"][0][:90]))  # fmt: skip

    assert visit["exceptions"] == []
    (warning,) = visit["warnings"]
    assert "et 43 autres" in warning  # 50 read: 2 known, 48 unknown
    assert visit["tables"] == 2  # the comparison and the ranking
