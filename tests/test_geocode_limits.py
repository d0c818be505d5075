"""The address service's other endpoints and the one bounded HTTP path, against the stand-in.

Suggestions (``/completion``) and the nearest address (``/reverse``); then every way a service
can misbehave that a timeout per read does not catch: an answer too large (plain, or a small gzip
bomb), JSON nested too deep, a server trickling one byte at a time, a redirect to another host,
a ``Retry-After`` longer than the caller can wait, a file whose chunks together outlast its
deadline. Each ends in the error the pages already turn into their French messages, without
building the answer in memory.
"""

from __future__ import annotations

import gzip
import json
import logging
import tracemalloc
import urllib.parse
import zlib
from pathlib import Path

import pandas as pd
import pytest
import requests

from geo import _http
from geo.errors import (
    GeocoderParseError,
    GeocoderRateLimited,
    GeocoderTimedOut,
    GeocoderUnavailable,
)
from geo.geocode import SearchArea, geocode_address, reverse_geocode, suggest_addresses
from geo.geocode_bulk import build_csv_request, geocode_csv_rows
from geo.geocoder import (
    COMPLETION_PATH,
    CSV_PATH,
    DEFAULT_BASE_URL,
    REVERSE_PATH,
    SEARCH_PATH,
    AnswerLimits,
    build_completion_request,
    build_reverse_request,
    build_search_request,
    user_message,
)

pytest_plugins = ["geoplateforme_fixtures"]  # the geoplateforme fixtures

CALL = "246200364"


class Sleeps(list):
    """Records the waits asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def call_area(mirror_dir: Path) -> SearchArea:
    """The CALL's communes, as the address page builds them (centre: roughly Lens)."""
    epci = json.loads((mirror_dir / "communes" / "epci.json").read_text("utf-8"))
    members = [m for e in epci if e["code"] == CALL for m in e["membres"]]
    communes = json.loads((mirror_dir / "communes" / "communes.json").read_text("utf-8"))
    postal = {c["code"]: ",".join(c.get("codesPostaux", [])) for c in communes}
    return SearchArea.from_communes(
        [m["code"] for m in members],
        [m["nom"] for m in members],
        [postal[m["code"]] for m in members],
        (2.83, 50.43),
    )


# --- Where the requests go ----------------------------------------------------------------------


def test_requests_go_to_the_geoplateforme_paths(monkeypatch):
    monkeypatch.delenv("QPV_GEOCODER_URL", raising=False)
    assert DEFAULT_BASE_URL == "https://data.geopf.fr/geocodage"
    urls = {
        build_search_request("12 rue de la Gare").url,
        build_reverse_request(2.83, 50.43).url,
        build_completion_request("12 rue").url,
        build_csv_request(pd.DataFrame({"a": ["x"]}), ["a"]).url,
    }
    assert urls == {
        f"https://data.geopf.fr/geocodage{path}"
        for path in (SEARCH_PATH, REVERSE_PATH, COMPLETION_PATH, CSV_PATH)
    }
    assert SEARCH_PATH == "/search" and CSV_PATH == "/search/csv"


# --- Suggestions while typing -------------------------------------------------------------------


def test_suggestions_are_addresses_of_the_area_only(geoplateforme, call_area):
    found = suggest_addresses("adresse de test", area=call_area, url=geoplateforme.url, pace=None)

    labels = [s.label for s in found]
    assert 1 <= len(labels) <= 8
    assert all(s.in_territory for s in found)
    assert not any(label.startswith("Calais") for label in labels)  # same département, not ours
    [request] = geoplateforme.requests
    assert request.params["terr"] == ["62"]
    assert request.params["maximumResponses"] == ["15"]  # asked wide, then filtered to the area


def test_suggestions_keep_to_the_local_pace_without_sending_anything(geoplateforme, call_area):
    pace = _http.TokenBucket(rate=0.001, burst=1)
    suggest_addresses("Liévin adr", area=call_area, url=geoplateforme.url, pace=pace)

    with pytest.raises(GeocoderRateLimited):
        suggest_addresses("Liévin adre", area=call_area, url=geoplateforme.url, pace=pace)
    assert geoplateforme.count("/completion") == 1


def test_a_failing_suggestion_request_is_one_french_error(geoplateforme, call_area):
    geoplateforme.set_mode("error", status=503)
    with pytest.raises(GeocoderUnavailable) as err:
        suggest_addresses("Liévin adr", area=call_area, url=geoplateforme.url, pace=None)
    assert geoplateforme.count("/completion") == 1  # while typing, the next keystroke retries
    assert "Géoplateforme (IGN) est indisponible" in user_message(err.value)


# --- The nearest address ------------------------------------------------------------------------


def test_reverse_gives_the_nearest_address_and_its_distance(geoplateforme, call_area):
    target = geoplateforme.address_in("QP062025")

    found = reverse_geocode(
        target.lon + 0.0005, target.lat, territory_citycodes=call_area.citycodes,
        url=geoplateforme.url,
    )  # fmt: skip

    assert found.label == target.label
    assert found.in_territory is True
    assert 30 < found.distance_m < 40  # 0.0005° of longitude at 50.45° N is about 35 m
    [request] = geoplateforme.requests
    assert (request.endpoint, request.params["index"]) == ("/reverse", ["address"])


def test_reverse_with_nothing_around_is_none(geoplateforme):
    geoplateforme.set_mode("empty", endpoint="/reverse")
    assert reverse_geocode(2.83, 50.43, url=geoplateforme.url) is None


# --- Limits before work -------------------------------------------------------------------------


def test_a_gzip_bomb_is_stopped_early_without_inflating_it(geoplateforme):
    geoplateforme.set_mode("gzip_bomb")
    tracemalloc.start()
    try:
        with pytest.raises(GeocoderParseError) as err:
            geocode_address("Lens adresse de test", url=geoplateforme.url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 1 GiB once inflated; the search allows 1 MB and reads 64 KB at a time.
    assert peak < 12_000_000, f"{peak / 1e6:.0f} MB allocated"
    assert "illisible" in user_message(err.value)
    assert geoplateforme.count("/search") == 1  # a broken limit is not retried


def test_an_oversize_answer_is_refused(geoplateforme):
    geoplateforme.set_mode("oversize")
    with pytest.raises(GeocoderParseError):
        geocode_address("Lens adresse de test", url=geoplateforme.url)


def test_deeply_nested_json_is_refused_before_parsing(geoplateforme):
    geoplateforme.set_mode("deep_json")  # 100 000 levels: json.loads would hit RecursionError
    with pytest.raises(GeocoderParseError, match="nested too deep"):
        geocode_address("Lens adresse de test", url=geoplateforme.url)


def test_a_trickling_server_is_cut_off_at_the_deadline(geoplateforme):
    geoplateforme.set_mode("trickle", interval=0.3)  # one byte every 0,3 s
    limits = AnswerLimits(deadline_s=1.5)

    with pytest.raises(GeocoderTimedOut) as err:
        geocode_address("Lens adresse de test", url=geoplateforme.url, limits=limits)

    assert "à temps" in user_message(err.value)
    [sent] = geoplateforme.trickle_ends()
    assert sent < 20  # of about a hundred bytes: the deadline, not the read timeout, decided


@pytest.mark.parametrize("target", ["http://localhost:{port}/ailleurs", "https://example.org/x"])
def test_a_redirect_to_another_host_is_refused(geoplateforme, target):
    port = urllib.parse.urlsplit(geoplateforme.url).port
    geoplateforme.set_mode("redirect", to=target.format(port=port), times=1)

    with pytest.raises(GeocoderUnavailable):
        geocode_address("Lens adresse de test", url=geoplateforme.url)

    assert geoplateforme.count("/ailleurs") == 0


def test_a_redirect_on_the_same_host_is_followed(geoplateforme):
    target = geoplateforme.address_in("QP062025")
    query = urllib.parse.urlencode({"q": target.label})
    geoplateforme.set_mode("redirect", to=f"/geocodage/search?{query}", times=1)

    answer = geocode_address("Lens adresse de test", url=geoplateforme.url)

    assert answer.best.label == target.label
    assert geoplateforme.count("/search") == 2


def test_a_retry_after_longer_than_the_deadline_is_not_waited(geoplateforme):
    geoplateforme.set_mode("rate_limit", retry_after=20)
    sleeps = Sleeps()

    with pytest.raises(GeocoderRateLimited):
        geocode_address(
            "Lens adresse de test",
            url=geoplateforme.url,
            limits=AnswerLimits(deadline_s=5.0),
            sleep=sleeps,
        )

    assert sleeps == []  # 20 s would outlive the 5 s deadline: the user is told at once
    assert geoplateforme.count("/search") == 1


def test_a_file_has_one_deadline_for_all_its_chunks(geoplateforme, geoplateforme_addresses):
    rows = pd.DataFrame({"adresse": [a.label for a in geoplateforme_addresses[:4]]})
    geoplateforme.set_mode("slow", delay=0.6)  # each chunk is well within its own deadline

    with pytest.raises(GeocoderTimedOut):
        geocode_csv_rows(
            rows, ["adresse"], chunk_size=1, url=geoplateforme.url, file_deadline_s=1.0
        )

    assert geoplateforme.count("/search/csv") < len(rows)


def test_a_bulk_answer_too_large_for_its_chunk_is_refused(geoplateforme, geoplateforme_addresses):
    rows = pd.DataFrame({"adresse": [geoplateforme_addresses[0].label]})
    geoplateforme.set_mode("gzip_bomb")

    with pytest.raises(GeocoderParseError):
        geocode_csv_rows(rows, ["adresse"], url=geoplateforme.url)


def test_completion_and_reverse_queries_never_reach_the_logs(geoplateforme, call_area, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    suggest_addresses("Liévin Secretrue", area=call_area, url=geoplateforme.url, pace=None)
    reverse_geocode(2.8312345, 50.4312345, url=geoplateforme.url)

    text = caplog.text
    assert "/geocodage/completion?<masqué>" in text
    assert "/geocodage/reverse?<masqué>" in text
    for secret in ("Secretrue", "2.831234", "50.431234"):
        assert secret not in text


# --- The bounded reader on its own --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"label": "[[[[ {{{ \\" ]]"}', 1),  # brackets and an escaped quote inside a string
        (b"[" * 50 + b"]" * 50, 50),
        (b'"plain"', 0),
    ],
)
def test_json_depth_ignores_brackets_in_strings(text, depth):
    assert _http.json_depth(text) == depth


def test_loads_bounded_refuses_before_parsing():
    with pytest.raises(_http.AnswerTooDeep):
        _http.loads_bounded(b"[" * 5000 + b"]" * 5000, max_depth=32)
    assert _http.loads_bounded(b'{"a": [1]}', max_depth=2) == {"a": [1]}


def test_the_decoder_bounds_every_encoding():
    body = b'{"features": []}' + b" " * 5000
    out = bytearray()
    _http._Decoder("gzip").feed(gzip.compress(body) + gzip.compress(b"\n"), out, 10_000)
    assert bytes(out) == body + b"\n"  # two gzip members
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    out = bytearray()
    _http._Decoder("deflate").feed(raw.compress(body) + raw.flush(), out, 10_000)
    assert bytes(out) == body  # "deflate" sent without its zlib header
    with pytest.raises(_http.AnswerTooLarge):
        _http._Decoder("gzip").feed(gzip.compress(body), bytearray(), 1_000)
    with pytest.raises(_http.EncodingRefused):
        _http._Decoder("br")


def test_fetch_bounded_refuses_an_announced_size_before_reading(geoplateforme):
    geoplateforme.set_mode("oversize")
    with requests.Session() as session, pytest.raises(_http.AnswerTooLarge, match="announced"):
        _http.fetch_bounded(
            session, "GET", f"{geoplateforme.url}/search", limits=AnswerLimits(max_bytes=1000)
        )
