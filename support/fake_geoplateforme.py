"""A stand-in for the address service of the IGN Géoplateforme, on 127.0.0.1.

A real HTTP server answering like ``https://data.geopf.fr/geocodage`` (the successor of the
BAN API, closed at the end of January 2026), under the same paths:

* ``GET /geocodage/search`` and ``GET /geocodage/reverse``: GeoCodeJSON;
* ``POST /geocodage/search/csv``: multipart in (``data`` file, repeated ``columns``, optional
  ``citycode``), the CSV out with ``latitude``, ``longitude`` and the ``result_*`` columns,
  ``result_score_next`` included;
* ``GET /geocodage/completion``: ``{"status": "OK", "results": [...]}`` (``text``,
  ``type=StreetAddress``, ``maximumResponses``, ``terr``);
* ``GET /geocodage/getCapabilities``.

Answers come from a small in-memory table whose positions are real points taken from the offline
mirror: a representative point of each 2015 QPV of the CALL (and of QP062043 « La Plaine du 7 »,
a neighbour's quartier), of a few CALL communes without any QPV, and of one commune outside the
CALL. Labels say plainly that they are test addresses ("Lens (adresse de test, QP062025)"): they
must not pass for anybody's real address.

Behaviours are scripted with :meth:`FakeGeoplateforme.set_mode` (for the next ``times``
requests, or until changed; ``endpoint="/completion"`` scripts one endpoint only, the others
answering normally): ``normal``, ``ambiguous``, ``low_score``, ``street``, ``municipality``,
``empty``, ``rate_limit`` (429 + ``Retry-After``), ``error`` (500 or another status), ``slow``
(sleeps before answering), ``malformed`` (truncated JSON), ``bad_shape`` (JSON that is not a
FeatureCollection), ``bad_csv``, ``incomplete_csv`` (rows with coordinates but no score, with
``result_status`` « error », without type), and the hostile ones: ``oversize`` (a 24 MB
answer), ``gzip_bomb`` (1 MB of gzip inflating to 1 GB), ``deep_json`` (arrays nested 100 000
deep), ``trickle`` (a valid answer sent one byte every ``interval`` seconds), ``redirect`` (a 302
to another host). Every request is recorded (``.requests``), and how many bytes a trickled
answer got out before the client hung up (``.trickled``).

In a test module (fixtures of ``tests/geoplateforme_fixtures.py``)::

    pytest_plugins = ["geoplateforme_fixtures"]

    def test_x(geoplateforme):
        geoplateforme.set_mode("rate_limit", times=1, retry_after=0)
        geocode_address("Lens adresse de test", url=geoplateforme.url)

Standalone (benchmarks, app tests)::

    python -m support.fake_geoplateforme --port 8765 --latency 0.05
"""

from __future__ import annotations

import argparse
import csv
import email.parser
import email.policy
import io
import json
import math
import re
import struct
import sys
import threading
import time
import unicodedata
import urllib.parse
import zlib
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd

from support import default_mirror

CALL = "246200364"
PREFIX = "/geocodage"
ENDPOINTS = ("/search", "/search/csv", "/reverse", "/completion", "/getCapabilities")
MODES = (
    "normal",
    "ambiguous",
    "low_score",
    "street",
    "municipality",
    "empty",
    "rate_limit",
    "error",
    "slow",
    "malformed",
    "bad_shape",
    "bad_csv",
    "incomplete_csv",
    "oversize",
    "gzip_bomb",
    "deep_json",
    "trickle",
    "redirect",
)
CSV_RESULT_COLUMNS = (
    "latitude",
    "longitude",
    "result_label",
    "result_score",
    "result_score_next",
    "result_type",
    "result_id",
    "result_housenumber",
    "result_name",
    "result_street",
    "result_postcode",
    "result_city",
    "result_context",
    "result_citycode",
    "result_status",
)
NEIGHBOUR_QPV = "QP062043"  # La Plaine du 7: shown by the app, in the CA d'Hénin-Carvin's contract
OVERSIZE_BYTES = 24_000_000
BOMB_BYTES = 1 << 30  # what the gzip bomb inflates to
DEEP = 100_000


@dataclass(frozen=True)
class Address:
    """One entry of the fake address table (a real position, a label saying it is a test)."""

    label: str
    lon: float
    lat: float
    citycode: str
    city: str
    postcode: str
    qpv_code: str | None  # the 2015 QPV whose representative point this is, if any
    housenumber: str = ""
    name: str = "Adresse de test"

    @property
    def id(self) -> str:
        return f"{self.citycode}_test_{zlib.crc32(self.label.encode()) % 10**5:05d}"


def load_addresses(mirror: Path) -> list[Address]:
    """Build the address table from real points of the mirror files."""
    import pandas as pd
    import shapely

    communes = json.loads((mirror / "communes" / "communes.json").read_text("utf-8"))
    by_code = {c["code"]: c for c in communes}
    by_name = {(c["departement"], _fold(c["nom"])): c for c in communes}
    epci = json.loads((mirror / "communes" / "epci.json").read_text("utf-8"))
    members = {m["code"] for e in epci if e["code"] == CALL for m in e["membres"]}

    pop = pd.read_csv(mirror / "qpv-2015" / "pop_qp_2013.csv", sep=";", dtype=str)
    call_qpv = sorted(set(pop.loc[pop["epci1"] == CALL, "qp"]))
    shp = gpd.read_file(mirror / "qpv-2015" / "QP_METROPOLE_LB93.shp", encoding="cp1252")
    shp = shp.set_crs("EPSG:2154", allow_override=True)
    shp = shp[shp["CODE_QP"].isin([*call_qpv, NEIGHBOUR_QPV])].sort_values("CODE_QP")
    shp["geometry"] = shapely.make_valid(shp.geometry.values)
    points = shp.geometry.representative_point().to_crs("EPSG:4326")

    table: list[Address] = []
    neighbour: list[Address] = []
    for number, (code, communes_qp, point) in enumerate(
        zip(shp["CODE_QP"], shp["COMMUNE_QP"], points, strict=True), start=1
    ):
        commune = by_name[("62", _fold(communes_qp.split(",")[0].strip()))]
        address = _address(commune, point, f"adresse de test, {code}", code, str(number))
        (neighbour if code == NEIGHBOUR_QPV else table).append(address)

    # Communes of the CALL without any QPV, then the most populous commune outside the CALL.
    qpv_union = shapely.union_all(shp.to_crs("EPSG:4326").geometry.values)
    contours = gpd.read_file(mirror / "communes" / "communes-62-pas-de-calais.geojson")
    with_qpv = {_fold(n.strip()) for names in shp["COMMUNE_QP"] for n in names.split(",")}
    without = contours[
        contours["code"].isin(members) & ~contours["nom"].map(_fold).isin(with_qpv)
    ].sort_values("code")
    for _, row in without.head(3).iterrows():
        point = row.geometry.representative_point()
        if not qpv_union.contains(point):
            table.append(_address(by_code[row["code"]], point, "adresse de test, hors quartier"))
    outside = contours[~contours["code"].isin(members)].copy()
    outside["population"] = outside["code"].map(lambda c: by_code.get(c, {}).get("population", 0))
    row = outside.sort_values("population", ascending=False).iloc[0]
    table.append(
        _address(by_code[row["code"]], row.geometry.representative_point(), "adresse de test")
    )
    return table + neighbour  # the neighbour's quartier last: earlier indexes are unchanged


def _address(commune: dict, point, note: str, qpv: str | None = None, number: str = "") -> Address:
    return Address(
        label=f"{commune['nom']} ({note})",
        lon=round(point.x, 6),
        lat=round(point.y, 6),
        citycode=commune["code"],
        city=commune["nom"],
        postcode=commune["codesPostaux"][0],
        qpv_code=qpv,
        housenumber=number,
    )


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


@cache
def gzip_bomb() -> bytes:
    """A valid gzip stream of about 1 MB inflating to 1 GiB: a JSON object padded with spaces.

    Built from one fully flushed deflate block of 1 MiB of spaces repeated (identical output
    each time), so it costs a CRC over 1 GiB rather than compressing it.
    """
    head, tail, block = b'{"type": "FeatureCollection", "features": []', b"}", b" " * (1 << 20)

    def deflate(data: bytes, flush: int) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        return compressor.compress(data) + compressor.flush(flush)

    blocks = BOMB_BYTES // len(block)
    crc = zlib.crc32(head)
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = (len(head) + blocks * len(block) + len(tail)) & 0xFFFFFFFF
    return b"".join(
        [
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff",
            deflate(head, zlib.Z_FULL_FLUSH),
            deflate(block, zlib.Z_FULL_FLUSH) * blocks,
            deflate(tail, zlib.Z_FINISH),
            struct.pack("<II", crc, size),
        ]
    )


@dataclass
class RequestRecord:
    """What the server received (kept in memory only)."""

    method: str
    path: str  # full path, e.g. /geocodage/search
    endpoint: str  # path under the prefix, e.g. /search
    params: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    rows: int = 0
    received_at: float = 0.0  # time.monotonic() when it arrived


@dataclass
class _Mode:
    name: str
    times: int | None
    options: dict
    endpoint: str | None = None


class FakeGeoplateforme:
    """The stand-in server; use as a context manager, or ``start()``/``stop()``."""

    def __init__(self, addresses: list[Address], *, port: int = 0, latency: float = 0.0):
        self.addresses = list(addresses)
        self.latency = latency
        self.requests: list[RequestRecord] = []
        self.trickled: list[int] = []  # bytes of each trickled answer sent before the hang-up
        self.in_flight = 0  # requests being answered now
        self.most_in_flight = 0  # the most ever answered at once
        self._modes: list[_Mode] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> str:
        """``http://127.0.0.1:<port>`` (the server, without the service's prefix)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """Base URL of the service, e.g. ``http://127.0.0.1:41234/geocodage``."""
        return self.root + PREFIX

    def start(self) -> FakeGeoplateforme:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeGeoplateforme:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- scripting --------------------------------------------------------------------------

    def set_mode(
        self, mode: str, *, times: int | None = None, endpoint: str | None = None, **options
    ) -> None:
        """Answer the next ``times`` requests (all if None) in ``mode``, then normally.

        ``endpoint`` (``/search``, ``/search/csv``, ``/reverse``, ``/completion``) limits the
        mode to that endpoint. Options: ``retry_after`` (rate_limit, seconds), ``status``
        (error, default 500), ``delay`` (slow, seconds), ``gap`` (ambiguous: score difference,
        default 0.02), ``score`` (low_score, default 0.35), ``interval`` (trickle, seconds per
        byte, default 2), ``to`` (redirect: the target URL, default another host name for this
        server).
        """
        self._check(mode, endpoint)
        with self._lock:
            self._modes = [] if mode == "normal" else [_Mode(mode, times, options, endpoint)]

    def then(
        self, mode: str, *, times: int | None = None, endpoint: str | None = None, **options
    ) -> None:
        """Queue another mode after the current one (e.g. 500 once, then 429 once)."""
        self._check(mode, endpoint)
        with self._lock:
            self._modes.append(_Mode(mode, times, options, endpoint))

    @staticmethod
    def _check(mode: str, endpoint: str | None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: one of {MODES}")
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}: one of {ENDPOINTS}")

    def _next_mode(self, endpoint: str) -> _Mode:
        with self._lock:
            for i, mode in enumerate(self._modes):
                if mode.endpoint not in (None, endpoint):
                    continue
                if mode.times is not None:
                    mode.times -= 1
                    if mode.times <= 0:
                        self._modes.pop(i)
                return mode
            return _Mode("normal", None, {})

    def count(self, endpoint: str | None = None) -> int:
        """Number of requests received (to ``endpoint``, e.g. ``/search``, if given)."""
        with self._lock:
            return sum(1 for r in self.requests if endpoint is None or r.endpoint == endpoint)

    def trickle_ends(self, *, timeout: float = 10.0) -> list[int]:
        """Bytes sent by each trickled answer, once its sender saw the client hang up."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if self.trickled:
                    return list(self.trickled)
            time.sleep(0.05)
        raise TimeoutError("no trickled answer ended")

    def address_in(self, qpv_code: str) -> Address:
        """The test address placed at the representative point of a 2015 QPV."""
        return next(a for a in self.addresses if a.qpv_code == qpv_code)

    # -- matching ---------------------------------------------------------------------------

    def search(self, q: str, *, limit: int = 5, citycode: str | None = None) -> list[tuple]:
        """(address, score) pairs for a query, best first (token overlap, 0..1 like the service)."""
        words = set(_fold(q).split())
        scored = []
        for address in self.addresses:
            if citycode and address.citycode != citycode:
                continue
            label = set(_fold(address.label).split())
            common = len(words & label)
            if common:
                score = round(0.3 + 0.69 * common / len(words | label), 4)
                scored.append((address, score))
        scored.sort(key=lambda pair: (-pair[1], pair[0].label))
        return scored[:limit]

    def complete(self, text: str, *, limit: int, terr: list[str]) -> list[Address]:
        """Addresses whose label has a word starting with each word typed, in label order."""
        words = _fold(text).split()
        found = []
        for address in sorted(self.addresses, key=lambda a: a.label):
            if terr and not any(address.citycode.startswith(t) for t in terr):
                continue
            label = _fold(address.label).split()
            if all(any(w.startswith(typed) for w in label) for typed in words):
                found.append(address)
        return found[:limit]

    def nearest(self, lon: float, lat: float) -> tuple[Address, float]:
        """The address nearest to a point and its distance in metres."""
        return min(
            ((a, _metres((lon, lat), (a.lon, a.lat))) for a in self.addresses),
            key=lambda pair: pair[1],
        )


def _feature(address: Address, score: float, kind: str = "housenumber", **extra) -> dict:
    props = {
        "label": address.label,
        "score": score,
        "type": kind,
        "id": address.id,
        "name": address.name,
        "postcode": address.postcode,
        "citycode": address.citycode,
        "city": address.city,
        "context": "62, Pas-de-Calais, Hauts-de-France",
        "x": 0,
        "y": 0,
        "importance": 0.5,
        "_type": "address",
        **extra,
    }
    if kind == "housenumber":
        props["housenumber"] = address.housenumber
        props["street"] = address.name
    elif kind == "street":
        props["label"] = f"Rue de test, {address.city} (adresse de test)"
        props["name"] = "Rue de test"
    elif kind == "municipality":
        props["label"] = address.city
        props["name"] = address.city
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [address.lon, address.lat]},
        "properties": props,
    }


def _collection(features: list[dict], **extra) -> bytes:
    payload = {
        "type": "FeatureCollection",
        "features": features,
        "attribution": "Géoplateforme (serveur de test)",
        "licence": "ETALAB-2.0",
        **extra,
    }
    return json.dumps(payload).encode()


def _handler_for(server: FakeGeoplateforme) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle's algorithm and delayed
        # ACKs add about 40 ms to every request on a kept-alive connection.
        disable_nagle_algorithm = True

        def log_message(self, format, *args):
            """Silent: request lines carry addresses."""

        def do_GET(self):
            self._handle()

        def do_POST(self):
            self._handle()

        def _handle(self):
            split = urllib.parse.urlsplit(self.path)
            params = urllib.parse.parse_qs(split.query, keep_blank_values=True)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            endpoint = split.path.rstrip("/")
            endpoint = endpoint[len(PREFIX) :] if endpoint.startswith(PREFIX) else split.path
            record = RequestRecord(
                self.command, split.path, endpoint, params, dict(self.headers.items()),
                received_at=time.monotonic(),
            )  # fmt: skip
            with server._lock:
                server.requests.append(record)
                server.in_flight += 1
                server.most_in_flight = max(server.most_in_flight, server.in_flight)
            try:
                mode = server._next_mode(endpoint)
                if server.latency:
                    time.sleep(server.latency)
                self._answer(endpoint, params, body, record, mode)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (timeout, limit): nothing left to answer
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _answer(self, endpoint, params, body, record, mode):
            opts = mode.options
            if not split_prefix_ok(record.path):
                return self._send(404, b'{"code": 404, "message": "Not Found"}')
            if mode.name == "rate_limit":
                return self._send(
                    429,
                    b'{"code": 429, "message": "Too Many Requests"}',
                    headers={"Retry-After": str(opts.get("retry_after", 1))},
                )
            if mode.name == "error":
                return self._send(opts.get("status", 500), b"Internal Server Error", "text/plain")
            if mode.name == "redirect":
                target = opts.get("to") or self._elsewhere()
                return self._send(302, b"", "text/plain", headers={"Location": target})
            if mode.name == "slow":
                time.sleep(opts.get("delay", 2.0))
            if mode.name == "oversize":
                head = b'{"type": "FeatureCollection", "features": []'
                return self._send(200, head + b" " * (OVERSIZE_BYTES - 60) + b"}")
            if mode.name == "gzip_bomb":
                return self._send(200, gzip_bomb(), headers={"Content-Encoding": "gzip"})
            if mode.name == "deep_json":
                return self._send(200, b"[" * DEEP + b"]" * DEEP)
            if self.command == "GET" and endpoint == "/search":
                return self._search(params, mode)
            if self.command == "GET" and endpoint == "/reverse":
                return self._reverse(params, mode)
            if self.command == "GET" and endpoint == "/completion":
                return self._completion(params, mode)
            if self.command == "POST" and endpoint == "/search/csv":
                return self._bulk(body, record, mode)
            if self.command == "GET" and endpoint == "/getCapabilities":
                return self._send(200, json.dumps({"info": {"name": "Géocodage (test)"}}).encode())
            return self._send(404, b'{"code": 404, "message": "Not Found"}')

        def _elsewhere(self) -> str:
            """The same server under another host name: a client that follows it is seen."""
            port = server._server.server_address[1]
            return f"http://localhost:{port}/ailleurs"

        def _garbage(self, mode):
            if mode.name == "malformed":
                return b'{"type": "FeatureCollection", "features": [{"type": '
            if mode.name == "bad_shape":
                return b'{"type": "FeatureCollection", "features": {"n": 1}}'
            return None

        def _search(self, params, mode):
            q = (params.get("q") or [""])[0]
            if not 3 <= len(q.strip()) <= 200 or not q.strip()[0].isalnum():
                message = (
                    "q: must contain between 3 and 200 chars and start with a number or a letter"
                )
                return self._send(400, json.dumps({"code": 400, "message": message}).encode())
            try:
                limit = int((params.get("limit") or ["10"])[0])
            except ValueError:
                return self._send(400, b'{"code": 400, "message": "limit: invalid"}')
            citycode = (params.get("citycode") or [None])[0]
            garbage = self._garbage(mode)
            if garbage is not None:
                return self._send(200, garbage)
            if mode.name == "trickle":
                return self._trickle(_collection([]), mode.options.get("interval", 2.0))
            matches = server.search(q, limit=max(limit, 2), citycode=citycode)
            if not matches and mode.name in ("ambiguous", "low_score", "street", "municipality"):
                matches = [(a, 0.5) for a in server.addresses[:2]]
            if mode.name == "empty":
                features = []
            elif mode.name == "ambiguous":
                first, score = matches[0]
                other = next(a for a in server.addresses if a.city != first.city)
                top = max(score, 0.8)
                features = [
                    _feature(first, top),
                    _feature(other, round(top - mode.options.get("gap", 0.02), 4)),
                ]
            elif mode.name == "low_score":
                features = [_feature(matches[0][0], mode.options.get("score", 0.35))]
            elif mode.name in ("street", "municipality"):
                features = [_feature(matches[0][0], 0.7, mode.name)]
            else:
                features = [_feature(a, s) for a, s in matches[:limit]]
            return self._send(200, _collection(features, query=q, limit=limit))

        def _reverse(self, params, mode):
            try:
                lon = float((params.get("lon") or [""])[0])
                lat = float((params.get("lat") or [""])[0])
            except ValueError:
                return self._send(400, b'{"code": 400, "message": "lon, lat: required"}')
            garbage = self._garbage(mode)
            if garbage is not None:
                return self._send(200, garbage)
            if mode.name == "empty":
                return self._send(200, _collection([]))
            address, metres = server.nearest(lon, lat)
            feature = _feature(address, 0.99, distance=round(metres))
            return self._send(200, _collection([feature]))

        def _completion(self, params, mode):
            text = (params.get("text") or [""])[0]
            if not text.strip():
                return self._send(400, b'{"status": "Bad Request", "message": "text: required"}')
            try:
                limit = int((params.get("maximumResponses") or ["10"])[0])
            except ValueError:
                return self._send(400, b'{"status": "Bad Request"}')
            if not 1 <= limit <= 15:
                return self._send(400, b'{"status": "Bad Request"}')
            terr = [t for t in (params.get("terr") or [""])[0].split(",") if t]
            garbage = self._garbage(mode)
            if garbage is not None:
                return self._send(200, garbage)
            found = [] if mode.name == "empty" else server.complete(text, limit=limit, terr=terr)
            results = [
                {
                    "country": "StreetAddress",
                    "city": a.city,
                    "zipcode": a.postcode,
                    "street": a.name,
                    "x": a.lon,
                    "y": a.lat,
                    "kind": "",
                    "fulltext": a.label,
                    "classification": 7,
                    "metropole": True,
                    "oldcity": "",
                    "names": [],
                    "zipcodes": [a.postcode],
                    "poiType": [],
                }
                for a in found
            ]
            return self._send(200, json.dumps({"status": "OK", "results": results}).encode())

        def _bulk(self, body, record, mode):
            form, files = _parse_multipart(self.headers.get("Content-Type", ""), body)
            record.form = form
            record.files = files
            if "data" not in files:
                return self._send(400, b'{"code": 400, "message": "data: required"}')
            try:
                text = files["data"].decode("utf-8-sig")
            except UnicodeDecodeError:
                return self._send(400, b'{"code": 400, "message": "data: not utf-8"}')
            reader = csv.DictReader(io.StringIO(text))
            rows = list(reader)
            record.rows = len(rows)
            columns = form.get("columns") or list(reader.fieldnames or [])
            citycode_col = (form.get("citycode") or [None])[0]
            out = io.StringIO()
            if mode.name == "bad_csv":
                writer = csv.writer(out)
                writer.writerow(["oops"])
                writer.writerows([["?"]] * len(rows))
                return self._send(200, out.getvalue().encode(), "text/csv; charset=utf-8")
            writer = csv.DictWriter(
                out, fieldnames=[*(reader.fieldnames or []), *CSV_RESULT_COLUMNS]
            )
            writer.writeheader()
            for i, row in enumerate(rows):
                q = " ".join((row.get(c) or "").strip() for c in columns).strip()
                result = dict.fromkeys(CSV_RESULT_COLUMNS, "")
                if len(q) < 3:
                    result["result_status"] = "skipped"
                else:
                    citycode = row.get(citycode_col) if citycode_col else None
                    found = server.search(q, limit=2, citycode=citycode or None)
                    if found:
                        result.update(_csv_result(found, mode))
                        if mode.name == "incomplete_csv":
                            _spoil(result, i)
                    else:
                        result["result_status"] = "not-found"
                writer.writerow({**row, **result})
            data = out.getvalue().encode("utf-8")
            if mode.name == "trickle":
                return self._trickle(data, mode.options.get("interval", 2.0), "text/csv")
            return self._send(200, data, "text/csv; charset=utf-8")

        def _trickle(self, body: bytes, interval: float, content_type="application/json"):
            """Send ``body`` one byte every ``interval`` seconds, until done or hung up on."""
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.flush()
            sent = 0
            try:
                for byte in body:
                    time.sleep(interval)
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    sent += 1
            finally:
                with server._lock:
                    server.trickled.append(sent)

        def _send(self, status, body, content_type="application/json", headers=None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def split_prefix_ok(path: str) -> bool:
    """Requests are answered under the service's prefix only (``/geocodage/...``)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def _csv_result(found: list[tuple], mode: _Mode) -> dict[str, str]:
    """The ``result_*`` cells of a found row (``ambiguous``: a runner-up just behind)."""
    address, score = found[0]
    following = found[1][1] if len(found) > 1 else None
    if mode.name == "ambiguous":
        score = max(score, 0.8)
        following = round(score - mode.options.get("gap", 0.02), 4)
    kind = mode.name if mode.name in ("street", "municipality") else "housenumber"
    return {
        "latitude": f"{address.lat}",
        "longitude": f"{address.lon}",
        "result_label": address.label,
        "result_score": f"{score}",
        "result_score_next": "" if following is None else f"{following}",
        "result_type": kind,
        "result_id": address.id,
        "result_housenumber": address.housenumber,
        "result_name": address.name,
        "result_street": address.name,
        "result_postcode": address.postcode,
        "result_city": address.city,
        "result_context": "62, Pas-de-Calais, Hauts-de-France",
        "result_citycode": address.citycode,
        "result_status": "ok",
    }


INCOMPLETE_ROWS = ("no_score", "status_error", "no_type", "status_missing")
"""How ``incomplete_csv`` spoils found rows, in turn (row i gets ``INCOMPLETE_ROWS[i % 4]``)."""


def _spoil(result: dict[str, str], i: int) -> None:
    """Make a found row incomplete while keeping its coordinates."""
    kind = INCOMPLETE_ROWS[i % len(INCOMPLETE_ROWS)]
    if kind == "no_score":
        result["result_score"] = ""
        result["result_score_next"] = ""
    elif kind == "status_error":
        result["result_status"] = "error"
    elif kind == "no_type":
        result["result_type"] = ""
    else:
        result["result_status"] = ""


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict]:
    """Form fields (name -> values) and files (name -> bytes) of a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = payload
        else:
            fields.setdefault(name, []).append(payload.decode("utf-8"))
    return fields, files


SERVICE = "Le service d'adresses de la Géoplateforme (IGN)"
# What a user is told for each way the address service can fail: mode -> (options, message).
FAILURES = {
    "rate_limit": ({"retry_after": 0}, f"{SERVICE} reçoit trop de demandes"),
    "error": ({"status": 500}, f"{SERVICE} est indisponible"),
    "malformed": ({}, f"{SERVICE} a renvoyé une réponse illisible."),
    "bad_shape": ({}, f"{SERVICE} a renvoyé une réponse illisible."),
    "bad_csv": ({}, f"{SERVICE} a renvoyé une réponse illisible."),
    "slow": ({"delay": 1.5}, "n'a pas répondu à temps"),
    "oversize": ({}, f"{SERVICE} a renvoyé une réponse illisible."),
    "gzip_bomb": ({}, f"{SERVICE} a renvoyé une réponse illisible."),
    "deep_json": ({}, f"{SERVICE} a renvoyé une réponse illisible."),
    "redirect": ({}, f"{SERVICE} est indisponible"),
    "trickle": ({"interval": 0.5}, "n'a pas répondu à temps"),
}


def failures(*modes: str) -> list[tuple[str, dict, str]]:
    """``(mode, options, message)`` rows for ``pytest.mark.parametrize``."""
    return [(mode, *FAILURES[mode]) for mode in modes]


# --- standalone ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Stand-in for the Géoplateforme address service on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--mirror", type=Path, default=default_mirror())
    args = parser.parse_args(argv)
    server = FakeGeoplateforme(load_addresses(args.mirror), port=args.port, latency=args.latency)
    print(
        f"Géoplateforme stand-in on {server.url} ({len(server.addresses)} test addresses)",
        flush=True,
    )
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is the normal way to stop it
    finally:
        server._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
