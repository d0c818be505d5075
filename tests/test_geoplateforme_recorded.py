"""Answers shaped after the Géoplateforme documentation, replayed to the parsers and the pipeline.

The fixtures (``tests/fixtures/geoplateforme/``, provenance in its README) hold one candidate of
each type (housenumber, street, locality, municipality) with their scores and INSEE codes, a
reverse answer with its distance, completion results, and a bulk CSV with ``result_score_next``,
``result_type`` and every ``result_status``. A tiny HTTP server on 127.0.0.1 serves them as the
service would, so the same code paths as in production read them.
"""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from geo.checkfile import check_table
from geo.errors import GeocoderParseError
from geo.geocode import (
    SearchArea,
    geocode_address,
    parse_completion_response,
    parse_search_response,
    reverse_geocode,
    suggest_addresses,
)
from geo.geocode_bulk import parse_csv_response
from geo.locate import build_locator
from geo.precision import precision_for_type
from geo.verdict import NOT_LOCATED

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "geoplateforme"
CALL_CITYCODES = {"62498", "62510", "62413"}  # Lens, Liévin, Harnes (members of the CALL)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(scope="module")
def call_area(dataset) -> SearchArea:
    communes = dataset.communes
    return SearchArea.from_communes(
        communes["code"], communes["name"], communes["postal_codes"], (2.83, 50.43)
    )


@pytest.fixture(scope="module")
def replay():
    """``http://127.0.0.1:<port>/geocodage`` answering each endpoint with its fixture."""
    answers = {
        "/geocodage/search": ("application/json", fixture("search.json")),
        "/geocodage/reverse": ("application/json", fixture("reverse.json")),
        "/geocodage/completion": ("application/json", fixture("completion.json")),
        "/geocodage/search/csv": ("text/csv; charset=utf-8", fixture("search_csv.csv")),
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            """Silent."""

        def do_GET(self):
            self._answer()

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer()

        def _answer(self):
            kind, body = answers.get(self.path.split("?")[0], ("text/plain", b""))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/geocodage"
    finally:
        server.shutdown()
        server.server_close()


# --- GeoCodeJSON ------------------------------------------------------------------------------


def test_search_answer_gives_each_type_with_its_score_and_commune():
    results = parse_search_response(
        json.loads(fixture("search.json")), territory_citycodes=CALL_CITYCODES
    )

    assert [(r.type, r.score, r.citycode) for r in results] == [
        ("housenumber", 0.9612, "62498"),
        ("street", 0.7334, "62510"),
        ("locality", 0.5521, "62413"),
        ("municipality", 0.4102, "62587"),
    ]
    assert [r.in_territory for r in results] == [True, True, True, False]
    assert (results[0].lon, results[0].lat) == (2.837854, 50.449984)
    # Only a house number is a usable point; the others are a whole street, place or commune.
    assert precision_for_type(results[0].type) == 10.0
    assert all(math.isinf(precision_for_type(r.type)) for r in results[1:])


def test_search_over_http_flags_what_is_outside_the_territory(replay):
    answer = geocode_address("1 rue de test lens", url=replay, territory_citycodes=CALL_CITYCODES)

    assert answer.best.label == "1 Rue de test 62300 Lens (adresse de test)"
    assert not answer.needs_choice  # 0,96 then 0,73: no doubt
    assert answer.candidates[-1].in_territory is False


def test_reverse_answer_gives_the_nearest_address_and_its_distance(replay):
    found = reverse_geocode(2.8381, 50.4501, url=replay, territory_citycodes=CALL_CITYCODES)

    assert found.label == "1 Rue de test 62300 Lens (adresse de test)"
    assert found.distance_m == 17
    assert found.in_territory is True


# --- Completion -------------------------------------------------------------------------------


def test_completion_answer_is_filtered_to_the_territory(call_area, replay):
    parsed = parse_completion_response(json.loads(fixture("completion.json")), area=call_area)
    kept = suggest_addresses("rue de test", area=call_area, url=replay, pace=None)

    assert [(s.city, s.postcode, s.in_territory) for s in parsed] == [
        ("Lens", "62300", True),
        ("Liévin", "62800", True),
        ("Montigny-en-Gohelle", "62640", False),  # CA d'Hénin-Carvin
        ("Harnes", "62440", True),
    ]
    assert [s.label for s in kept] == [
        "1 Rue de test, 62300 Lens (adresse de test)",
        "2 Rue de test, 62800 Liévin (adresse de test)",
        "4 Rue de test, 62440 Harnes (adresse de test)",
    ]
    assert (kept[0].lon, kept[0].lat) == (2.837854, 50.449984)


def test_completion_answer_with_another_status_is_refused():
    with pytest.raises(GeocoderParseError):
        parse_completion_response({"status": "ERROR", "results": []})


# --- Bulk CSV ---------------------------------------------------------------------------------


def test_bulk_answer_keeps_the_score_of_the_runner_up_and_every_status():
    parsed = parse_csv_response(fixture("search_csv.csv"), 6)

    assert list(parsed["geocodage_status"]) == ["ok", "ok", "ok", "not-found", "skipped", "error"]
    assert list(parsed["geocodage_type"][:3]) == ["housenumber", "housenumber", "street"]
    assert parsed.loc[1, "geocodage_score"] == 0.8123
    assert parsed.loc[1, "geocodage_score_next"] == 0.7981
    assert math.isnan(parsed.loc[2, "geocodage_score_next"])


def test_bulk_answer_through_the_pipeline_is_never_firm_when_in_doubt(dataset, replay):
    table = pd.DataFrame(
        {
            "adresse": ["1 rue de test", "2 rue de test", "rue de test", "zzzz qqqq", "", "x"],
            "commune": ["Lens", "Liévin", "Liévin", "", "", ""],
        }
    )

    rows = check_table(
        table, build_locator(dataset), address_columns=["adresse", "commune"], geocoder_url=replay
    ).rows

    assert list(rows["qpv_2015_statut"]) == [
        "dans",  # house number, clear winner, inside QP062025
        "incertain",  # runner-up within 0,05: another address is almost as likely
        "incertain",  # street only
        NOT_LOCATED,
        NOT_LOCATED,
        NOT_LOCATED,  # result_status "error", whatever coordinates came with it
    ]
    assert rows.loc[0, "qpv_2015_code"] == "QP062025"
    assert list(rows["qpv_2015_remarque"][1:]) == [
        "autre adresse presque aussi probable (scores 0,81 et 0,80) : vérifiez-la",
        "adresse localisée seulement à la rue, au lieu-dit ou à la commune",
        "adresse introuvable",
        "adresse vide ou trop courte",
        "le service d'adresses n'a pas pu traiter cette ligne",
    ]
