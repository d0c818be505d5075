"""Faults, as a user sees them: every failure ends in a French message saying what to do.

Each test sets the environment of one app start (``monkeypatch.setenv``), drives the app with
``AppTest`` and asserts on what is shown: the message, and what is *not* shown (no Python
traceback, no figures or verdict built on data the app could not read or services that did not
answer). Nothing leaves 127.0.0.1: the address service is ``tests/geoplateforme.py`` and any other
request goes to a closed local port through ``HTTP(S)_PROXY``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import apptest
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui.data
from geo import fetch, geocoder
from geo.sources import SOURCES
from geo.store import SCHEMA_VERSION
from geo.territory import DEFAULT_TERRITORY
from ui import adresse

APP = "../app.py"
TIMEOUT = 120
HEADLINE = {"Quartiers prioritaires": "21", "Communes concernées": "19 sur 36"}
pytest_plugins = ["geoplateforme_fixtures"]  # the geoplateforme fixtures
CLOSED_PORT_PROXY = "http://127.0.0.1:9"  # discard port: nothing listens, connections refused


@pytest.fixture
def fresh_process(monkeypatch):
    """Make the app behave as a newly started server, and leave no trace for later tests.

    ``ui.data`` checks the processed tables once per process, and every ``st.cache_resource``
    holds the tables of the folder read first: a test that changes the folder needs both reset.
    """
    monkeypatch.setattr(ui.data, "_checked", set())
    monkeypatch.setenv("HTTP_PROXY", CLOSED_PORT_PROXY)
    monkeypatch.setenv("HTTPS_PROXY", CLOSED_PORT_PROXY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("QPV_BASEMAP", "aucun")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def start_app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    """The headline figures: label -> value as shown."""
    return {label: value for label, (value, _) in apptest.figures(at).items()}


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def first_element(at: AppTest):
    """The first element of the page's main area, in reading order."""
    node = at.main
    while getattr(node, "children", None):
        node = node.children[min(node.children)]
    return node


def assert_french_stop(at: AppTest, *fragments: str) -> str:
    """One French error, first on the page and open, naming what to do; nothing else shown."""
    assert not at.exception, at.exception
    text = errors(at)
    assert text.startswith("Les données des quartiers prioritaires n'ont pas pu être préparées")
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in the message:\n{text}"
    assert "Traceback" not in text
    assert not apptest.figures(at), "figures shown although the data could not be read"
    assert first_element(at).value == at.error[0].value, "the message is not first on the page"
    assert not at.get("status") and not at.expander, "the message is not shown open"
    return text


def copy_processed(processed: Path, root: Path) -> Path:
    """A copy of the processed tables under ``root`` (the app's ``QPV_PROCESSED_DIR``)."""
    target = root / DEFAULT_TERRITORY
    shutil.copytree(processed, target)
    return target


def linked_mirror(mirror: Path, root: Path, *, replace: dict[str, bytes]) -> Path:
    """A mirror folder of links to the real files, except ``replace``: path -> new bytes."""
    for dirpath, _, filenames in os.walk(mirror):
        for filename in filenames:
            source = Path(dirpath) / filename
            relative = source.relative_to(mirror).as_posix()
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if relative in replace:
                target.write_bytes(replace[relative])
            else:
                target.symlink_to(source)
    return root


# ---------------------------------------------------------------------------------------------
# Processed tables


def test_first_start_builds_the_tables_from_the_mirror_then_shows_the_map(
    fresh_process, monkeypatch, mirror_dir, tmp_path
):
    monkeypatch.setenv("QPV_PROCESSED_DIR", str(tmp_path))
    monkeypatch.setenv("QPV_DATA_MIRROR", str(mirror_dir))

    at = start_app()

    assert not at.exception, at.exception
    assert [(s.label, s.state) for s in at.get("status")] == [("Données préparées", "complete")]
    assert metrics(at).items() >= HEADLINE.items()
    manifest = json.loads((tmp_path / DEFAULT_TERRITORY / "manifest.json").read_text("utf-8"))
    assert manifest["schema_version"] == SCHEMA_VERSION


def unreadable_manifest(folder: Path) -> None:
    (folder / "manifest.json").write_text("{pas du json", "utf-8")


def manifest_not_an_object(folder: Path) -> None:
    (folder / "manifest.json").write_text('["valide", "mais pas un objet"]', "utf-8")


def older_schema(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["schema_version"] = SCHEMA_VERSION - 1
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def missing_table(folder: Path) -> None:
    (folder / "communes.parquet").unlink()


@pytest.mark.parametrize(
    "damage", [unreadable_manifest, manifest_not_an_object, older_schema, missing_table]
)
def test_stale_or_incomplete_tables_are_rebuilt_and_the_map_shown(
    fresh_process, monkeypatch, processed, mirror_dir, tmp_path, damage
):
    folder = copy_processed(processed, tmp_path)
    damage(folder)
    monkeypatch.setenv("QPV_PROCESSED_DIR", str(tmp_path))
    monkeypatch.setenv("QPV_DATA_MIRROR", str(mirror_dir))

    at = start_app()

    assert not at.exception, at.exception
    assert not at.error
    assert [(s.label, s.state) for s in at.get("status")] == [("Données préparées", "complete")]
    assert metrics(at).items() >= HEADLINE.items()
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert (folder / "communes.parquet").is_file()


def tear(table: Path) -> None:
    """Keep the first third of a file, as a crash or a full disk in the middle of a write."""
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 3])


def test_corrupt_table_is_rebuilt_from_the_mirror_and_the_real_figures_shown(
    fresh_process, monkeypatch, processed, mirror_dir, tmp_path
):
    folder = copy_processed(processed, tmp_path)
    tear(folder / "qpv.parquet")
    monkeypatch.setenv("QPV_PROCESSED_DIR", str(tmp_path))
    monkeypatch.setenv("QPV_DATA_MIRROR", str(mirror_dir))

    at = start_app()

    assert not at.exception, at.exception
    assert not at.error, errors(at)
    assert [(s.label, s.state) for s in at.get("status")] == [("Données préparées", "complete")]
    assert metrics(at).items() >= HEADLINE.items()
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["outputs"]["qpv.parquet"] == fetch.sha256_file(folder / "qpv.parquet")


def test_corrupt_table_without_sources_is_refused_never_shown_as_figures(
    fresh_process, monkeypatch, processed, tmp_path
):
    folder = copy_processed(processed, tmp_path / "processed")
    tear(folder / "qpv.parquet")
    monkeypatch.setenv("QPV_PROCESSED_DIR", str(tmp_path / "processed"))
    monkeypatch.delenv("QPV_DATA_MIRROR", raising=False)
    monkeypatch.setenv("QPV_CACHE_DIR", str(tmp_path / "cache-vide"))  # and no network

    at = start_app()

    text = assert_french_stop(at, "illisibles", "qpv.parquet", "python -m geo build")
    assert "Sans accès à internet" in text and "QPV_DATA_MIRROR=" in text  # would rebuild it
    assert (folder / "qpv.parquet").stat().st_size < processed.joinpath(
        "qpv.parquet"
    ).stat().st_size


def test_missing_mirror_folder_says_which_folder_and_which_variable(
    fresh_process, monkeypatch, tmp_path
):
    missing = tmp_path / "miroir-absent"
    monkeypatch.setenv("QPV_PROCESSED_DIR", str(tmp_path / "processed"))
    monkeypatch.setenv("QPV_DATA_MIRROR", str(missing))

    at = start_app()

    text = assert_french_stop(at, "Le miroir de données indiqué n'existe pas", str(missing))
    assert "Sans accès à internet" in text
    assert f"QPV_DATA_MIRROR={missing} {ui.data.LAUNCH_COMMAND}" in text


@pytest.mark.parametrize(
    ("source", "damage"),
    [
        pytest.param("qpv2015_shp", lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param("pop2013", lambda b: b.replace(b"62", b"59", 3), id="altered"),
    ],
)
def test_mirror_file_not_matching_its_checksum_stops_with_the_file_named(
    fresh_process, monkeypatch, mirror_dir, tmp_path, source, damage
):
    path = SOURCES[source].path
    monkeypatch.setenv("QPV_CACHE_DIR", str(tmp_path / "cache"))  # no verified copy used first
    mirror = linked_mirror(
        mirror_dir, tmp_path / "miroir", replace={path: damage((mirror_dir / path).read_bytes())}
    )
    monkeypatch.setenv("QPV_PROCESSED_DIR", str(tmp_path / "processed"))
    monkeypatch.setenv("QPV_DATA_MIRROR", str(mirror))

    at = start_app()

    text = assert_french_stop(at, str(mirror / path), "ne correspond pas à la source publiée")
    assert "remplacez-le par le fichier original" in text
    assert "Un fichier source est endommagé" in text
    assert "Sans accès à internet" not in text  # the mirror is there: it holds a bad file
    assert not (tmp_path / "processed" / DEFAULT_TERRITORY).exists()


def test_unwritable_cache_folder_says_to_choose_a_writable_one(
    fresh_process, monkeypatch, mirror_dir, tmp_path
):
    # Under a regular file, nothing can be created, even by root.
    blocker = tmp_path / "un-fichier"
    blocker.write_text("pas un dossier", "utf-8")
    monkeypatch.setenv("QPV_PROCESSED_DIR", str(blocker / "processed"))
    monkeypatch.setenv("QPV_DATA_MIRROR", str(mirror_dir))

    at = start_app()

    text = assert_french_stop(at, "QPV_PROCESSED_DIR", "accessible en écriture")
    assert str(blocker / "processed") in text
    assert "Le dossier des données préparées n'est pas accessible en écriture" in text
    assert "un élément du chemin n'est pas un dossier" in text
    assert "Not a directory" not in text
    assert "Sans accès à internet" not in text  # the mirror is there: the folder is the problem


def test_unwritable_download_cache_says_to_choose_another_or_a_mirror(
    fresh_process, monkeypatch, tmp_path
):
    blocker = tmp_path / "un-fichier"
    blocker.write_text("pas un dossier", "utf-8")
    monkeypatch.setenv("QPV_PROCESSED_DIR", str(tmp_path / "processed"))
    monkeypatch.setenv("QPV_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.delenv("QPV_DATA_MIRROR", raising=False)

    at = start_app()

    text = assert_french_stop(at, "Impossible d'écrire dans le cache", str(blocker / "cache"))
    assert "Le cache des fichiers téléchargés n'est pas accessible en écriture" in text
    assert "`QPV_CACHE_DIR`" in text and "`QPV_DATA_MIRROR`" in text
    assert "un élément du chemin n'est pas un dossier" in text


@pytest.mark.parametrize(
    "page",
    [None, "pages/adresse.py", "pages/fichier.py", "pages/comparer.py", "pages/presentation.py",
     "pages/contrat_de_ville.py", "pages/sources.py"],
)  # fmt: skip
def test_with_no_data_source_every_page_says_what_is_missing_and_both_ways_out_first(
    fresh_process, monkeypatch, tmp_path, page
):
    empty = tmp_path / "miroir-vide"
    empty.mkdir()
    monkeypatch.setenv("QPV_DATA_MIRROR", str(empty))  # and downloads go to a closed port
    monkeypatch.setenv("QPV_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QPV_PROCESSED_DIR", str(tmp_path / "processed"))

    at = apptest.open_page(page, timeout=TIMEOUT)

    text = assert_french_stop(at, "Il manque les fichiers officiels")
    internet, mirror = text.split("1. ")[1].split("2. ")
    assert internet.startswith("**Avec accès à internet**")
    assert all(f"`{host}`" in internet for host in fetch.download_hosts())
    assert "qpv-2015/pop_qp_2013.csv" in apptest.unescape(internet)  # no download address
    assert mirror.startswith("**Sans accès à internet**")
    command = f"QPV_DATA_MIRROR={empty} {ui.data.LAUNCH_COMMAND}"
    assert f"```bash\n{command}\n```" in mirror
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    assert f"&& {ui.data.LAUNCH_COMMAND}\n" in readme, "not the README's command"
    assert [h.value for h in at.title] == [], "the page went on without its data"


# ---------------------------------------------------------------------------------------------
# The address service (the Géoplateforme stand-in on 127.0.0.1)

VERDICT_HEADLINES = (
    "Oui, dans",
    "Non, hors",
    "Dans le quartier prioritaire",
    "Dans les quartiers prioritaires",
    "Hors quartier prioritaire",
    "Hors du territoire",
    "Incertain",
)
OFFLINE_HINT = "cliquez sur la carte ou saisissez des coordonnées"


def verdicts_shown(at: AppTest) -> list[str]:
    """Every verdict headline or found address on the page (must be empty after a failure)."""
    texts = [m.value for m in [*at.subheader, *at.markdown]]
    return [
        t for t in texts if "**Adresse trouvée :**" in t or any(h in t for h in VERDICT_HEADLINES)
    ]


def plain(markdown: str) -> str:
    """Markdown as read on screen: bold markers and link targets removed, escapes undone."""
    text = re.sub(r"\[((?:\\.|[^\]\\])*)\]\([^)]*\)", r"\1", markdown.replace("**", ""))
    return re.sub(r"\\(.)", r"\1", text)


@pytest.fixture
def address_page(monkeypatch, geoplateforme, processed):
    """Open ``/adresse?q=<test address in QP062025>`` against the Géoplateforme stand-in."""
    monkeypatch.setenv("QPV_GEOCODER_URL", geoplateforme.url)
    monkeypatch.setenv("QPV_BASEMAP", "aucun")

    def open_page() -> AppTest:
        return apptest.open_page(
            "pages/adresse.py", timeout=TIMEOUT, q=geoplateforme.address_in("QP062025").label
        )

    return open_page


def test_address_page_answers_when_the_service_works(address_page, geoplateforme):
    at = address_page()

    assert not at.error
    shown = "\n".join(plain(t) for t in verdicts_shown(at))
    assert "Adresse trouvée : Lens (adresse de test, QP062025)" in shown
    assert "Dans le quartier prioritaire Grande Résidence (QP062025)" in shown
    assert geoplateforme.count("/search") == 1


@pytest.mark.parametrize(
    ("mode", "options", "message"),
    [
        ("error", {"status": 500}, "est indisponible pour le moment"),
        ("error", {"status": 503}, "est indisponible pour le moment"),
        ("rate_limit", {"retry_after": 1}, "reçoit trop de demandes en ce moment"),
        ("malformed", {}, "a renvoyé une réponse illisible"),
        ("bad_shape", {}, "a renvoyé une réponse illisible"),
    ],
)
def test_address_service_failure_shows_a_french_message_and_no_verdict(
    address_page, geoplateforme, mode, options, message
):
    geoplateforme.set_mode(mode, **options)

    at = address_page()

    assert verdicts_shown(at) == [], "a verdict was shown although the address was not located"
    text = plain(errors(at))
    assert message in text
    assert OFFLINE_HINT in text
    assert "Traceback" not in text and "HTTP" not in text
    # Bounded: the failure is retried (429 and 5xx only), a few times, then given up.
    retried = mode in ("error", "rate_limit")
    assert geoplateforme.count("/search") == (adresse.SEARCH_POLICY.attempts if retried else 1)


def test_address_service_timing_out_shows_a_french_message_and_no_verdict(
    address_page, geoplateforme, monkeypatch
):
    # The page's own read timeout, shortened so that the test waits about a second.
    monkeypatch.setattr(adresse, "SEARCH_TIMEOUT", (2.0, 0.3))
    geoplateforme.set_mode("slow", delay=2.0)

    at = address_page()

    assert verdicts_shown(at) == []
    text = plain(errors(at))
    assert "n'a pas répondu à temps" in text and OFFLINE_HINT in text
    assert geoplateforme.count("/search") == adresse.SEARCH_POLICY.attempts


def test_one_429_with_retry_after_is_waited_out_and_the_answer_given(address_page, geoplateforme):
    geoplateforme.set_mode("rate_limit", times=1, retry_after=1)

    at = address_page()

    assert not at.error
    shown = "\n".join(plain(t) for t in verdicts_shown(at))
    assert "Dans le quartier prioritaire Grande Résidence (QP062025)" in shown
    assert geoplateforme.count("/search") == 2


def test_unreachable_address_service_shows_a_french_message_and_no_verdict(
    address_page, monkeypatch
):
    monkeypatch.setenv("QPV_GEOCODER_URL", "http://127.0.0.1:9")  # nothing listens there

    at = address_page()

    assert verdicts_shown(at) == []
    assert "est indisponible pour le moment" in plain(errors(at))


def test_coordinates_still_answer_while_the_address_service_is_down(address_page, geoplateforme):
    geoplateforme.set_mode("error", status=503)
    at = address_page()
    searches = geoplateforme.count("/search")

    point = geoplateforme.address_in("QP062025")
    at.text_input(key="adresse_longitude").set_value(str(point.lon).replace(".", ","))
    at.text_input(key="adresse_latitude").set_value(str(point.lat).replace(".", ","))
    next(b for b in at.button if b.label == "Situer ce point").click().run()

    assert not at.exception, at.exception
    shown = "\n".join(plain(t) for t in verdicts_shown(at))
    assert "Dans le quartier prioritaire Grande Résidence (QP062025)" in shown
    assert not at.error  # the verdict alone: the nearest address was only a help
    assert "Adresse la plus proche" not in "\n".join(m.value for m in at.markdown)
    # Computed locally; only the nearest address was asked for, once.
    assert geoplateforme.count("/search") == searches
    assert geoplateforme.count("/reverse") == adresse.REVERSE_POLICY.attempts


@pytest.mark.parametrize(
    ("mode", "options", "message"),
    [
        ("oversize", {}, "a renvoyé une réponse illisible"),
        ("gzip_bomb", {}, "a renvoyé une réponse illisible"),
        ("deep_json", {}, "a renvoyé une réponse illisible"),
        ("redirect", {}, "est indisponible pour le moment"),
        ("trickle", {"interval": 0.5}, "n'a pas répondu à temps"),
    ],
)
def test_a_hostile_answer_is_cut_short_with_a_french_message(
    address_page, geoplateforme, mode, options, message
):
    geoplateforme.set_mode(mode, **options)

    at = address_page()

    assert verdicts_shown(at) == []
    text = plain(errors(at))
    assert message in text and OFFLINE_HINT in text
    assert geoplateforme.count("/search") == 1  # a broken limit is not retried
    assert geoplateforme.count("/ailleurs") == 0  # the redirect to another host was not followed
    if mode == "trickle":
        # The answer (a hundred bytes, one every 0,5 s) was abandoned long before its end.
        [sent] = geoplateforme.trickle_ends()
        assert sent < 40


@pytest.fixture
def file_page(monkeypatch, geoplateforme, geoplateforme_addresses, processed):
    """``/fichier`` with a 3-row address file uploaded, against the Géoplateforme stand-in."""
    monkeypatch.setenv("QPV_GEOCODER_URL", geoplateforme.url)
    monkeypatch.setenv("QPV_BASEMAP", "aucun")
    rows = "\n".join(f"{i};{a.label}" for i, a in enumerate(geoplateforme_addresses[:3], start=1))
    data = f"numero;adresse\n{rows}\n".encode()

    def open_page() -> AppTest:
        at = apptest.open_page("pages/fichier.py", timeout=TIMEOUT)
        at.file_uploader[0].upload("adresses.csv", data, "text/csv").run()
        assert not at.exception, at.exception
        return at

    return open_page


def check_button(at: AppTest):
    return next(b for b in at.button if b.label.startswith("Vérifier les"))


@pytest.mark.parametrize(
    ("mode", "options", "message"),
    [
        ("error", {"status": 502}, "est indisponible pour le moment"),
        ("rate_limit", {"retry_after": 0}, "reçoit trop de demandes en ce moment"),
        ("bad_csv", {}, "a renvoyé une réponse illisible"),
        ("gzip_bomb", {}, "a renvoyé une réponse illisible"),
        ("oversize", {}, "a renvoyé une réponse illisible"),
        ("redirect", {}, "est indisponible pour le moment"),
    ],
)
def test_file_check_with_the_service_failing_checks_no_row(
    file_page, geoplateforme, mode, options, message
):
    at = file_page()
    geoplateforme.set_mode(mode, **options)

    check_button(at).click().run()

    assert not at.exception, at.exception
    text = plain(errors(at))
    assert message in text and "Aucune ligne n'a été vérifiée" in text
    assert [h.value for h in at.header] == [], "a result was shown although no row was checked"
    assert not at.get("download_button")
    assert geoplateforme.count("/search/csv") <= geocoder.DEFAULT_POLICY.attempts
