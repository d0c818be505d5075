"""Tests of ``geo.geocode`` against a real HTTP server standing in for the Géoplateforme."""

from __future__ import annotations

import json
import logging
import math
import socket
import time
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from geo import _http
from geo.errors import (
    GeocoderError,
    GeocoderParseError,
    GeocoderRateLimited,
    GeocoderTimedOut,
    GeocoderUnavailable,
    InputError,
)
from geo.geocode import AMBIGUITY_GAP, geocode_address, parse_search_response
from geo.geocode_bulk import geocode_csv_rows
from geo.geocoder import (
    DEFAULT_BASE_URL,
    ENV_URL,
    MAX_LENGTH,
    build_search_request,
    normalize_address,
    user_message,
)
from geo.precision import precision_for_type

pytest_plugins = ["geoplateforme_fixtures"]  # the geoplateforme fixtures

CALL = "246200364"
FAST = _http.RetryPolicy(attempts=3, backoff=0.01)


class Sleeps(list):
    """Records the waits asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def call_citycodes(mirror_dir: Path) -> frozenset[str]:
    epci = json.loads((mirror_dir / "communes" / "epci.json").read_text("utf-8"))
    return frozenset(m["code"] for e in epci if e["code"] == CALL for m in e["membres"])


def search_requests(server) -> list:
    return [r for r in server.requests if r.endpoint == "/search"]


# --- Single address --------------------------------------------------------------------------


def test_found_address_keeps_label_score_type_and_position(geoplateforme, call_citycodes):
    target = geoplateforme.address_in("QP062025")
    answer = geocode_address(
        target.label, url=geoplateforme.url, territory_citycodes=call_citycodes, near=(2.83, 50.43)
    )
    best = answer.best
    assert best.label == target.label
    assert best.type == "housenumber"
    assert (best.lon, best.lat) == (target.lon, target.lat)
    assert best.citycode == target.citycode and best.city == "Lens"
    assert best.in_territory is True
    assert 0.9 < best.score <= 1
    assert not answer.needs_choice
    [received] = search_requests(geoplateforme)
    assert received.params["q"] == [target.label]
    assert received.params["limit"] == ["5"]
    assert received.params["lon"] == ["2.830000"] and received.params["lat"] == ["50.430000"]
    assert "citycode" not in received.params  # one request for the territory, not one per commune
    assert received.headers["User-Agent"] == _http.USER_AGENT


def test_result_outside_the_territory_is_flagged(geoplateforme, call_citycodes):
    outside = next(a for a in geoplateforme.addresses if a.citycode not in call_citycodes)
    answer = geocode_address(
        outside.label, url=geoplateforme.url, territory_citycodes=call_citycodes
    )
    assert answer.best.label == outside.label
    assert answer.best.in_territory is False
    assert geocode_address(outside.label, url=geoplateforme.url).best.in_territory is None


def test_ambiguous_answer_asks_the_user(geoplateforme):
    geoplateforme.set_mode("ambiguous", gap=0.02)
    answer = geocode_address("Lens adresse de test", url=geoplateforme.url)
    first, second = answer.candidates[:2]
    assert first.label != second.label
    assert first.score - second.score <= AMBIGUITY_GAP
    assert answer.is_ambiguous and answer.needs_choice
    geoplateforme.set_mode("ambiguous", gap=0.2)
    clear = geocode_address("Lens adresse de test", url=geoplateforme.url)
    assert not clear.is_ambiguous and not clear.needs_choice


def test_low_score_asks_the_user(geoplateforme):
    geoplateforme.set_mode("low_score", score=0.35)
    answer = geocode_address("Lens adresse de test", url=geoplateforme.url)
    assert answer.best.score == pytest.approx(0.35)
    assert answer.is_low_confidence and answer.needs_choice


def test_street_only_result_cannot_support_a_verdict(geoplateforme):
    geoplateforme.set_mode("street")
    answer = geocode_address("Lens adresse de test", url=geoplateforme.url)
    assert answer.best.type == "street"
    assert "Rue de test" in answer.best.label
    assert math.isinf(precision_for_type(answer.best.type))


def test_nothing_found(geoplateforme):
    geoplateforme.set_mode("empty")
    answer = geocode_address("Lens adresse de test", url=geoplateforme.url)
    assert not answer.found and answer.best is None and not answer.needs_choice


# --- Failures and retries --------------------------------------------------------------------


def test_429_is_retried_after_the_retry_after_delay(geoplateforme):
    geoplateforme.set_mode("rate_limit", times=1, retry_after=2)
    sleeps = Sleeps()
    answer = geocode_address("Liévin adresse de test", url=geoplateforme.url, sleep=sleeps)
    assert answer.found
    assert geoplateforme.count("/search") == 2
    assert sleeps == [2.0]


def test_429_really_waits(geoplateforme):
    geoplateforme.set_mode("rate_limit", times=1, retry_after=1)
    start = time.monotonic()
    assert geocode_address("Liévin adresse de test", url=geoplateforme.url).found
    assert time.monotonic() - start >= 1.0
    assert geoplateforme.count("/search") == 2


def test_persistent_429_raises_rate_limited(geoplateforme):
    geoplateforme.set_mode("rate_limit", retry_after=0)
    with pytest.raises(GeocoderRateLimited) as err:
        geocode_address(
            "Liévin adresse de test", url=geoplateforme.url, policy=FAST, sleep=Sleeps()
        )
    assert geoplateforme.count("/search") == FAST.attempts
    assert "demandes" in user_message(err.value)


def test_500_then_success(geoplateforme):
    geoplateforme.set_mode("error", times=1)
    sleeps = Sleeps()
    assert geocode_address("Harnes adresse de test", url=geoplateforme.url, sleep=sleeps).found
    assert geoplateforme.count("/search") == 2
    assert sleeps == [_http.RetryPolicy().backoff]


def test_persistent_500_raises_unavailable(geoplateforme):
    geoplateforme.set_mode("error", status=503)
    with pytest.raises(GeocoderUnavailable) as err:
        geocode_address(
            "Harnes adresse de test", url=geoplateforme.url, policy=FAST, sleep=Sleeps()
        )
    assert isinstance(err.value, ConnectionError)
    assert geoplateforme.count("/search") == FAST.attempts
    assert "indisponible" in user_message(err.value)


def test_slow_answer_times_out(geoplateforme):
    geoplateforme.set_mode("slow", delay=2.0)
    with pytest.raises(GeocoderTimedOut) as err:
        geocode_address(
            "Harnes adresse de test",
            url=geoplateforme.url,
            timeout=(1.0, 0.2),
            policy=_http.RetryPolicy(attempts=2, backoff=0.01),
            sleep=Sleeps(),
        )
    assert isinstance(err.value, TimeoutError)
    assert geoplateforme.count("/search") == 2
    assert "à temps" in user_message(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_unreachable_service_is_unavailable():
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GeocoderUnavailable):
        geocode_address(
            "Harnes adresse de test", url=f"http://127.0.0.1:{port}", policy=FAST, sleep=Sleeps()
        )


@pytest.mark.parametrize("mode", ["malformed", "bad_shape"])
def test_malformed_answer_raises_parse_error(geoplateforme, mode):
    geoplateforme.set_mode(mode)
    with pytest.raises(GeocoderParseError) as err:
        geocode_address("Harnes adresse de test", url=geoplateforme.url)
    assert "illisible" in user_message(err.value)
    assert geoplateforme.count("/search") == 1  # a bad answer is not retried


def test_bad_request_is_an_input_error_not_retried(geoplateforme):
    # Passes our validation but the service refuses it (here, a 400 scripted as a status).
    geoplateforme.set_mode("error", status=400)
    with pytest.raises(InputError, match="refusé"):
        geocode_address("Harnes adresse de test", url=geoplateforme.url)
    assert geoplateforme.count("/search") == 1


def test_base_url_from_environment(monkeypatch, geoplateforme):
    monkeypatch.setenv(ENV_URL, geoplateforme.url + "/")
    assert build_search_request("Lens").url == f"{geoplateforme.url}/search"
    assert geocode_address("Lens adresse de test").found
    assert build_search_request("Lens", url="http://other.test").url == "http://other.test/search"
    monkeypatch.delenv(ENV_URL)
    assert build_search_request("Lens").url == f"{DEFAULT_BASE_URL}/search"


# --- Bulk CSV --------------------------------------------------------------------------------


def bulk_rows(addresses, n: int) -> pd.DataFrame:
    """``n`` rows cycling over the test addresses, plus an unknown one and an empty one."""
    labels = [addresses[i % len(addresses)].label for i in range(n - 2)] + ["zzz qqq www", ""]
    return pd.DataFrame(
        {
            "nom": [f"Personne {i}" for i in range(n)],  # must never be sent
            "adresse": labels,
        },
        index=pd.Index([f"r{i}" for i in range(n)], name="ligne"),
    )


def test_bulk_posts_chunks_and_realigns_rows(geoplateforme, geoplateforme_addresses):
    rows = bulk_rows(geoplateforme_addresses, 25)
    progress = []
    out = geocode_csv_rows(
        rows,
        ["adresse"],
        chunk_size=10,
        url=geoplateforme.url,
        on_progress=lambda *a: progress.append(a),
    )
    assert geoplateforme.count("/search/csv") == math.ceil(25 / 10)
    assert geoplateforme.count() == 3  # no request per row
    assert progress == [(0, 25), (10, 25), (20, 25), (25, 25)]
    assert list(out.index) == list(rows.index)
    by_label = {a.label: a for a in geoplateforme_addresses}
    for key in ["r0", "r7", "r22"]:
        expected = by_label[rows.loc[key, "adresse"]]
        assert (out.loc[key, "lon"], out.loc[key, "lat"]) == (expected.lon, expected.lat)
        assert out.loc[key, "geocodage_label"] == expected.label
        assert out.loc[key, "geocodage_status"] == "ok"
        assert out.loc[key, "geocodage_type"] == "housenumber"
        assert 0 < out.loc[key, "geocodage_score"] <= 1
    assert out.loc["r23", "geocodage_status"] == "not-found"
    assert out.loc["r24", "geocodage_status"] == "skipped"
    assert math.isnan(out.loc["r24", "lon"])
    for record in geoplateforme.requests:
        assert record.form["columns"] == ["adresse"]
        assert b"Personne" not in record.files["data"]  # only the address columns leave


def test_bulk_citycode_column_restricts_each_row(geoplateforme, geoplateforme_addresses):
    target = next(a for a in geoplateforme_addresses if a.qpv_code)
    other = next(a for a in geoplateforme_addresses if a.citycode != target.citycode)
    rows = pd.DataFrame(
        {"adresse": [target.label, target.label], "insee": [target.citycode, other.citycode]}
    )
    out = geocode_csv_rows(rows, ["adresse"], citycode_column="insee", url=geoplateforme.url)
    assert out.loc[0, "geocodage_label"] == target.label
    # The second row may only be answered from the other commune, whatever its text says.
    assert out.loc[1, "geocodage_citycode"] == other.citycode
    assert out.loc[1, "geocodage_label"] != target.label
    assert geoplateforme.requests[0].form["citycode"] == ["insee"]


def test_bulk_retry_resends_the_whole_chunk(geoplateforme, geoplateforme_addresses):
    rows = bulk_rows(geoplateforme_addresses, 6)
    geoplateforme.set_mode("error", times=1)
    out = geocode_csv_rows(rows, ["adresse"], chunk_size=10, url=geoplateforme.url, sleep=Sleeps())
    assert geoplateforme.count("/search/csv") == 2
    assert geoplateforme.requests[1].rows == 6
    assert (out["geocodage_status"] == "ok").sum() == 4


def test_bulk_bad_csv_and_missing_column(geoplateforme, geoplateforme_addresses):
    rows = bulk_rows(geoplateforme_addresses, 4)
    geoplateforme.set_mode("bad_csv")
    with pytest.raises(GeocoderParseError):
        geocode_csv_rows(rows, ["adresse"], url=geoplateforme.url)
    with pytest.raises(InputError, match="rue"):
        geocode_csv_rows(rows, ["rue"], url=geoplateforme.url)


def test_bulk_of_nothing_sends_nothing(geoplateforme):
    out = geocode_csv_rows(pd.DataFrame({"adresse": []}), ["adresse"], url=geoplateforme.url)
    assert len(out) == 0 and "geocodage_status" in out.columns
    assert geoplateforme.count() == 0


# --- Addresses are personal data -------------------------------------------------------------


def test_address_never_reaches_the_logs(geoplateforme, geoplateforme_addresses, caplog):
    address = geoplateforme.address_in("QP062024").label
    forms = {address, urllib.parse.quote_plus(address), urllib.parse.quote(address)}
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "geo", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    geocode_address(address, url=geoplateforme.url)
    geoplateforme.set_mode("error")
    with pytest.raises(GeocoderUnavailable) as err:
        geocode_address(address, url=geoplateforme.url, policy=FAST, sleep=Sleeps())
    geoplateforme.set_mode("normal")
    geocode_csv_rows(pd.DataFrame({"adresse": [address]}), ["adresse"], url=geoplateforme.url)

    assert any(r.name.startswith("urllib3") for r in caplog.records), "urllib3 logged nothing"
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for form in forms:
        assert form not in text
        assert form not in str(err.value)
    assert "/search" in text  # the request lines are there, without their query


# --- Request building and validation ---------------------------------------------------------


def test_normalize_address_examples():
    assert normalize_address("  12   rue\tde la\u00a0Gare \n") == "12 rue de la Gare"
    assert normalize_address("-- 5 rue Test") == "5 rue Test"
    assert normalize_address("e\u0301cole Test") == "école Test"  # NFC
    for text, message in [
        ("", "Saisissez"),
        ("   ", "Saisissez"),
        ("ab", "trop courte"),
        ("!!! ???", "lettre ou un chiffre"),
        ("a" * (MAX_LENGTH + 1), "trop longue"),
        (None, "texte"),
    ]:
        with pytest.raises(InputError, match=message):
            normalize_address(text)


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=260))
def test_any_text_is_either_refused_or_a_valid_request(text):
    try:
        request = build_search_request(text)
    except InputError as exc:
        assert str(exc)  # a French message, never a crash
        return
    q = request.params["q"]
    assert 3 <= len(q) <= MAX_LENGTH
    assert q[0].isalnum() and q == q.strip() and "  " not in q
    assert all(ch.isprintable() for ch in q)
    prepared = requests.Request(request.method, request.url, params=request.params).prepare()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(prepared.url).query)
    assert query["q"] == [q]


def test_parse_search_response_on_a_recorded_shape():
    def feature(label, score, kind="housenumber", citycode="62498", coords=(2.83, 50.43)):
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(coords)},
            "properties": {"label": label, "score": score, "type": kind, "citycode": citycode},
        }

    payload = {
        "type": "FeatureCollection",
        "features": [feature("B test", 0.6), feature("A test", 0.9, citycode="62193")],
    }
    results = parse_search_response(payload, territory_citycodes={"62498"})
    assert [r.label for r in results] == ["A test", "B test"]  # best first
    assert [r.in_territory for r in results] == [False, True]
    broken = [
        ({"features": "x"}, "FeatureCollection"),
        ({"features": [feature("Secret label", 1.5)]}, "score"),
        ({"features": [feature("Secret label", 0.9, kind="building")]}, "type"),
        ({"features": [feature("Secret label", 0.9, coords=(float("nan"), 50))]}, "coordinates"),
        ({"features": [{"geometry": {"type": "LineString"}, "properties": {}}]}, "Point"),
    ]
    for bad, what in broken:
        with pytest.raises(GeocoderParseError, match=what) as err:
            parse_search_response(bad)
        assert "Secret" not in str(err.value)


def test_user_messages_are_french():
    assert user_message(InputError("L'adresse est trop courte.")) == "L'adresse est trop courte."
    assert "Réessayez" in user_message(GeocoderError("x"))
    assert user_message(GeocoderTimedOut("x")) != user_message(GeocoderUnavailable("x"))
