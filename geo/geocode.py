"""Client of the address service of the IGN Géoplateforme (``https://data.geopf.fr/geocodage``).

The DINUM's BAN API (api-adresse.data.gouv.fr) closed at the end of January 2026; its successor
answers the same GeoCodeJSON on the Géoplateforme:

* ``GET /search``: one address -> candidates (``q``, ``limit``, ``lat``/``lon`` bias);
* ``GET /reverse``: a point -> the nearest addresses (``lon``, ``lat``, ``limit``);
* ``POST /search/csv``: a CSV in, the same CSV out with ``latitude``, ``longitude`` and
  ``result_*`` columns (``result_score_next``: the score of the second candidate);
* ``GET /completion``: suggestions while typing (``text``, ``type=StreetAddress``,
  ``maximumResponses`` 1-15, ``terr``: département filter), JSON ``{"status", "results"}``.

Quotas: 50 requests/s per IP (HTTP 429 with ``Retry-After`` beyond), 10 requests/s for the
completion. Building a request, sending it and parsing the answer are separate functions, so the
parsers are pure and testable on recorded answers. Sending goes through
:func:`geo._http.fetch_bounded`: User-Agent, bounded retries on 429/5xx, and limits on size
(after decompression), JSON depth, time (one deadline per call, and per file for the bulk) and
redirects (same host only).

Addresses are personal data: they are never logged, never written to disk and never put in an
exception message. The search, completion and reverse endpoints take the address (or the point)
in the query string, and urllib3 logs request lines at DEBUG level, so a logging filter installed
on import masks the query string of those requests in urllib3's log records. The bulk CSV is
built and posted from memory.

Territory
---------
The search filters on one ``citycode`` per request, and a territory has dozens of communes.
Rather than one request per commune, :func:`geocode_address` sends one request biased towards
the territory (``lat``/``lon`` of its centre: nearby results rank higher) and flags each
candidate whose ``citycode`` is not one of the territory's (``GeocodeResult.in_territory``), so
the page asks instead of silently answering for another town. The completion filters on the
territory's départements and its suggestions are kept only when their commune (name and postal
code) is one of the territory's.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import requests

from geo import _http
from geo._parallel import ordered_map
from geo.errors import (
    GeocoderError,
    GeocoderParseError,
    GeocoderRateLimited,
    GeocoderTimedOut,
    GeocoderUnavailable,
    InputError,
)
from geo.format import fr_int

log = logging.getLogger(__name__)

ENV_URL = "QPV_GEOCODER_URL"
DEFAULT_BASE_URL = "https://data.geopf.fr/geocodage"
SERVICE_NAME = "le service d'adresses de la Géoplateforme (IGN)"
"""How every message names the service (« … de la Géoplateforme (IGN) »)."""
_SERVICE = SERVICE_NAME[:1].upper() + SERVICE_NAME[1:]

SEARCH_PATH = "/search"
REVERSE_PATH = "/reverse"
CSV_PATH = "/search/csv"
COMPLETION_PATH = "/completion"

MIN_LENGTH = 3  # the service answers 400 below 3 and above 200 characters
MAX_LENGTH = 200
DEFAULT_LIMIT = 5
COMPLETION_MAX = 15  # maximumResponses: 1 to 15
AMBIGUITY_GAP = 0.05  # two best scores closer than this, with different labels: ask the user
LOW_SCORE = 0.5  # below this the best candidate is a guess
RESULT_TYPES = ("housenumber", "street", "locality", "municipality")
CSV_CHUNK_SIZE = 2_000
CSV_TIMEOUT = (5.0, 120.0)  # a bulk chunk takes longer to answer than one search
RetryPolicy = _http.RetryPolicy  # public: callers choose how patient a lookup is
AnswerLimits = _http.AnswerLimits
Deadline = _http.Deadline
DEFAULT_POLICY = RetryPolicy()
SUGGEST_POLICY = RetryPolicy(attempts=1)  # while typing, the next keystroke is the retry

SEARCH_LIMITS = AnswerLimits(max_bytes=1_000_000, max_depth=16, deadline_s=30.0)
"""A GeoCodeJSON answer of at most 20 features is a few kilobytes, nested 6 deep."""
CSV_LIMITS = AnswerLimits(max_bytes=16_000_000, max_depth=0, deadline_s=180.0)
"""One chunk of 2 000 rows comes back with ~20 columns added: a few megabytes at most."""
FILE_DEADLINE_S = 900.0
"""Every chunk of one file together (10 000 rows: 5 chunks)."""

# The completion quota (10 requests/s) is per IP, and every visitor's keystrokes leave from the
# server's: a process keeps well under it and skips a suggestion rather than being refused.
COMPLETION_PACE = _http.TokenBucket(rate=4.0, burst=4)

# Columns appended by /search/csv that this module reads (result_score_next is optional).
CSV_RESULT_COLUMNS = (
    "latitude",
    "longitude",
    "result_label",
    "result_score",
    "result_type",
    "result_citycode",
    "result_status",
)
_ROW_COLUMN = "qpv_row"  # our own row number, sent and read back to realign the answer

USER_MESSAGES = {
    GeocoderTimedOut: (f"{_SERVICE} n'a pas répondu à temps. Réessayez dans un instant."),
    GeocoderRateLimited: (
        f"{_SERVICE} reçoit trop de demandes en ce moment. Patientez quelques secondes puis "
        "réessayez."
    ),
    GeocoderUnavailable: (
        f"{_SERVICE} est indisponible pour le moment. Réessayez plus tard, ou placez le point "
        "directement sur la carte."
    ),
    GeocoderParseError: (
        f"{_SERVICE} a renvoyé une réponse illisible. Réessayez plus tard, ou placez le point "
        "directement sur la carte."
    ),
    GeocoderError: (f"{_SERVICE} a refusé la demande. Réessayez plus tard."),
}


def user_message(exc: BaseException) -> str:
    """French message to show a user for an error raised by this module."""
    if isinstance(exc, InputError):
        return str(exc)  # already French and free of the address
    for kind, message in USER_MESSAGES.items():
        if isinstance(exc, kind):
            return message
    return "La recherche d'adresse a échoué."


def base_url(override: str | None = None) -> str:
    """The API root: ``override``, else ``$QPV_GEOCODER_URL``, else the Géoplateforme's."""
    return (override or os.environ.get(ENV_URL) or DEFAULT_BASE_URL).rstrip("/")


# --------------------------------------------------------------------------------------------
# Types


@dataclass(frozen=True)
class SearchArea:
    """Where a territory's addresses are: to bias searches and to flag answers elsewhere.

    Attributes
    ----------
    citycodes : frozenset of str
        INSEE codes of the territory's communes.
    centre : (lon, lat)
        Bias point of ``/search``.
    departements : tuple of str
        ``terr`` filter of ``/completion``.
    postcodes : mapping
        Folded commune name -> its postal codes (a completion result has no INSEE code).
    """

    citycodes: frozenset[str]
    centre: tuple[float, float]
    departements: tuple[str, ...]
    postcodes: Mapping[str, frozenset[str]]

    @classmethod
    def from_communes(
        cls,
        codes: Iterable[str],
        names: Iterable[str],
        postal_codes: Iterable[str],
        centre: tuple[float, float],
    ) -> SearchArea:
        """Build from the communes' INSEE codes, names and postal codes (comma-separated)."""
        codes = [str(c) for c in codes]
        postcodes: dict[str, frozenset[str]] = {}
        for name, postal in zip(names, postal_codes, strict=True):
            found = frozenset(p.strip() for p in str(postal or "").split(",") if p.strip())
            postcodes[fold(name)] = postcodes.get(fold(name), frozenset()) | found
        departements = sorted({c[:3] if c.startswith(("97", "98")) else c[:2] for c in codes})
        return cls(frozenset(codes), centre, tuple(departements), postcodes)

    def has_commune(self, city: str | None, postcode: str | None) -> bool:
        """A commune of the area, by name (and postal code when one is given)."""
        known = self.postcodes.get(fold(city or ""))
        if known is None:
            return False
        return not postcode or not known or postcode in known


@dataclass(frozen=True)
class GeocodeResult:
    """One candidate position for an address."""

    label: str
    score: float
    type: str
    lon: float
    lat: float
    citycode: str | None = None
    city: str | None = None
    postcode: str | None = None
    in_territory: bool | None = None  # None when no territory was given
    distance_m: float | None = None  # reverse look-up: from the point asked

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "label": self.label,
            "score": self.score,
            "type": self.type,
            "lon": self.lon,
            "lat": self.lat,
            "citycode": self.citycode,
            "city": self.city,
            "postcode": self.postcode,
            "in_territory": self.in_territory,
            "distance_m": self.distance_m,
        }


@dataclass(frozen=True)
class GeocodeAnswer:
    """Candidates for one address, best first, and whether the user should choose."""

    candidates: tuple[GeocodeResult, ...]

    @property
    def best(self) -> GeocodeResult | None:
        """The highest-scored candidate, or None when nothing was found."""
        return self.candidates[0] if self.candidates else None

    @property
    def found(self) -> bool:
        """At least one candidate."""
        return bool(self.candidates)

    @property
    def is_ambiguous(self) -> bool:
        """The two best candidates differ but score within ``AMBIGUITY_GAP`` of each other."""
        if len(self.candidates) < 2:
            return False
        first, second = self.candidates[0], self.candidates[1]
        return first.label != second.label and first.score - second.score <= AMBIGUITY_GAP

    @property
    def is_low_confidence(self) -> bool:
        """The best candidate scores below ``LOW_SCORE``."""
        return self.best is not None and self.best.score < LOW_SCORE

    @property
    def needs_choice(self) -> bool:
        """The page should let the user pick among the candidates rather than use ``best``."""
        return self.is_ambiguous or self.is_low_confidence

    def matching(self, label: str) -> GeocodeResult | None:
        """The candidate whose label is ``label`` (a suggestion the user chose), if any."""
        wanted = fold(label)
        return next((c for c in self.candidates if fold(c.label) == wanted), None)


@dataclass(frozen=True)
class Suggestion:
    """An address proposed while typing (``/completion``)."""

    label: str
    lon: float
    lat: float
    city: str | None = None
    postcode: str | None = None
    in_territory: bool | None = None


@dataclass(frozen=True)
class GeocodeRequest:
    """An HTTP request ready to send: method, URL, query parameters and (bulk) form parts."""

    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    data: tuple[tuple[str, str], ...] = ()
    files: dict[str, tuple[str, bytes, str]] | None = None


# --------------------------------------------------------------------------------------------
# Validation and request building (pure)

_SPACES = re.compile(r"\s+")


def normalize_address(text: Any) -> str:
    """Clean an address typed by a user, or refuse it with a French message.

    Control and invisible characters become spaces, runs of spaces collapse, leading
    punctuation goes (the service wants a letter or a digit first). Never fails on any ``str``
    except by raising :class:`InputError`.

    Raises
    ------
    InputError
        Not text, empty, shorter than 3 or longer than 200 characters, or without any letter or
        digit.
    """
    if not isinstance(text, str):
        raise InputError("L'adresse doit être un texte.")
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    text = _SPACES.sub(" ", text).strip()
    start = next((i for i, ch in enumerate(text) if ch.isalnum()), None)
    if not text:
        raise InputError("Saisissez une adresse.")
    if start is None:
        raise InputError("L'adresse doit contenir au moins une lettre ou un chiffre.")
    text = text[start:]
    if len(text) < MIN_LENGTH:
        raise InputError(f"L'adresse est trop courte ({MIN_LENGTH} caractères au moins).")
    if len(text) > MAX_LENGTH:
        raise InputError(
            f"L'adresse est trop longue ({fr_int(len(text))} caractères, {MAX_LENGTH} au plus)."
        )
    return text


def fold(text: str) -> str:
    """Compare names and labels without case, accents or punctuation."""
    text = unicodedata.normalize("NFKD", str(text).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def _point_params(lon: float, lat: float) -> dict[str, str]:
    return {"lon": f"{float(lon):.6f}", "lat": f"{float(lat):.6f}"}


def build_search_request(
    address: str,
    *,
    limit: int = DEFAULT_LIMIT,
    citycode: str | None = None,
    near: tuple[float, float] | None = None,
    url: str | None = None,
) -> GeocodeRequest:
    """The ``GET /search`` request for one address (validated with :func:`normalize_address`).

    Parameters
    ----------
    limit : int
        Number of candidates wanted (1 to 20).
    citycode : str, optional
        INSEE code of the only commune to search in.
    near : (lon, lat), optional
        Bias towards this point (results nearby rank higher).
    url : str, optional
        API root (see :func:`base_url`).
    """
    if not 1 <= int(limit) <= 20:
        raise ValueError(f"limit must be between 1 and 20, got {limit!r}")
    params = {"q": normalize_address(address), "limit": str(int(limit))}
    if citycode:
        params["citycode"] = str(citycode)
    if near is not None:
        params.update(_point_params(*near))
    return GeocodeRequest("GET", f"{base_url(url)}{SEARCH_PATH}", params=params)


def build_reverse_request(
    lon: float, lat: float, *, limit: int = 1, url: str | None = None
) -> GeocodeRequest:
    """The ``GET /reverse`` request: the addresses nearest to a WGS84 point."""
    if not 1 <= int(limit) <= 20:
        raise ValueError(f"limit must be between 1 and 20, got {limit!r}")
    if not (math.isfinite(float(lon)) and math.isfinite(float(lat))):
        raise InputError("Coordonnées invalides pour la recherche de l'adresse la plus proche.")
    params = {**_point_params(lon, lat), "limit": str(int(limit)), "index": "address"}
    return GeocodeRequest("GET", f"{base_url(url)}{REVERSE_PATH}", params=params)


def build_completion_request(
    text: str,
    *,
    departements: Sequence[str] = (),
    limit: int = COMPLETION_MAX,
    url: str | None = None,
) -> GeocodeRequest:
    """The ``GET /completion`` request for a partly typed address (street addresses only)."""
    if not 1 <= int(limit) <= COMPLETION_MAX:
        raise ValueError(f"limit must be between 1 and {COMPLETION_MAX}, got {limit!r}")
    params = {
        "text": normalize_address(text),
        "type": "StreetAddress",
        "maximumResponses": str(int(limit)),
    }
    if departements:
        params["terr"] = ",".join(departements)
    return GeocodeRequest("GET", f"{base_url(url)}{COMPLETION_PATH}", params=params)


def build_csv_request(
    rows: pd.DataFrame,
    address_columns: Sequence[str],
    *,
    citycode_column: str | None = None,
    url: str | None = None,
) -> GeocodeRequest:
    """The ``POST /search/csv`` request for a table (built in memory, never on disk).

    The CSV holds only the address columns, the optional citycode column and a row number
    (``qpv_row``) used to realign the answer.
    """
    columns = list(address_columns)
    if not columns:
        raise InputError("Choisissez au moins une colonne d'adresse.")
    missing = [c for c in [*columns, citycode_column] if c and c not in rows.columns]
    if missing:
        raise InputError(f"Colonne(s) absente(s) du fichier : {', '.join(map(str, missing))}.")
    sent = rows[columns + ([citycode_column] if citycode_column else [])].copy()
    sent.columns = [str(c) for c in sent.columns]
    sent.insert(0, _ROW_COLUMN, range(len(sent)))
    buffer = io.BytesIO()
    sent.to_csv(buffer, index=False, encoding="utf-8")
    data = [("columns", str(c)) for c in columns]
    if citycode_column:
        data.append(("citycode", str(citycode_column)))
    return GeocodeRequest(
        "POST",
        f"{base_url(url)}{CSV_PATH}",
        data=tuple(data),
        # Bytes, not the buffer: a retried request must send the whole file again.
        files={"data": ("adresses.csv", buffer.getvalue(), "text/csv")},
    )


# --------------------------------------------------------------------------------------------
# Sending

# Kept between calls: a suggestion reuses an open connection instead of a new TLS handshake.
_SESSIONS = _http.SessionPool()


def send_request(
    request: GeocodeRequest,
    *,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = _http.DEFAULT_TIMEOUT,
    policy: _http.RetryPolicy = DEFAULT_POLICY,
    limits: _http.AnswerLimits = SEARCH_LIMITS,
    deadline: _http.Deadline | None = None,
    sleep: Callable[[float], None] | None = None,
) -> bytes:
    """Send a request within ``limits`` and with bounded retries; return the body of a 2xx.

    Raises
    ------
    GeocoderTimedOut
        No answer within the timeouts, or the deadline passed (per call or the enclosing one).
    GeocoderRateLimited, GeocoderUnavailable
        429 or 5xx after the retries, the service unreachable, or a redirect to another host.
    GeocoderParseError
        An answer over ``limits.max_bytes`` once decompressed, or not decompressible.
    GeocoderError
        Another refusal.
    InputError
        HTTP 400: the service refused the address itself.
    """
    kwargs: dict[str, Any] = {"policy": policy, "timeout": timeout, "limits": limits}
    if deadline is not None:
        kwargs["deadline"] = deadline
    if sleep is not None:
        kwargs["sleep"] = sleep
    if request.params:
        kwargs["params"] = request.params
    if request.data:
        kwargs["data"] = list(request.data)
    if request.files:
        kwargs["files"] = request.files
    endpoint = urllib.parse.urlsplit(request.url).path  # the query (the address) is in params
    # The chained exceptions are dropped ("from None"): requests puts the URL, hence the
    # address, in their messages.
    try:
        with contextlib.nullcontext(session) if session else _SESSIONS.borrow() as lent:
            answer = _http.fetch_bounded(lent, request.method, request.url, **kwargs)
    except _http.DeadlineExceeded:
        raise GeocoderTimedOut(f"{endpoint}: no answer within the deadline") from None
    except requests.Timeout:
        raise GeocoderTimedOut(
            f"{endpoint}: no answer within {timeout} s after {policy.attempts} attempts"
        ) from None
    except _http.RedirectRefused as exc:
        raise GeocoderUnavailable(f"{endpoint}: {type(exc).__name__}") from None
    except (_http.AnswerTooLarge, _http.EncodingRefused) as exc:
        raise GeocoderParseError(f"{endpoint}: answer refused ({type(exc).__name__})") from None
    except requests.RequestException as exc:
        raise GeocoderUnavailable(
            f"{endpoint}: {type(exc).__name__} after {policy.attempts} attempts"
        ) from None
    status = answer.status_code
    log.debug("geocoder %s answered HTTP %s", endpoint, status)
    if 200 <= status < 300:
        return answer.content
    if status == 429:
        raise GeocoderRateLimited(f"{endpoint}: HTTP 429 after the allowed retries")
    if status >= 500:
        raise GeocoderUnavailable(f"{endpoint}: HTTP {status} after the allowed retries")
    if status == 400:
        raise InputError(
            "Le service d'adresses a refusé cette adresse : vérifiez-la "
            f"({MIN_LENGTH} à {MAX_LENGTH} caractères, commençant par une lettre ou un chiffre)."
        )
    raise GeocoderError(f"{endpoint}: unexpected HTTP {status}")


def _json(content: bytes, limits: _http.AnswerLimits, what: str) -> Any:
    try:
        return _http.loads_bounded(content, max_depth=limits.max_depth)
    except _http.AnswerTooDeep:
        raise GeocoderParseError(f"{what} answer is nested too deep") from None
    except ValueError:
        raise GeocoderParseError(f"{what} answer is not JSON") from None


# --------------------------------------------------------------------------------------------
# Parsing (pure)


def parse_search_response(
    payload: Any, *, territory_citycodes: Collection[str] | None = None
) -> list[GeocodeResult]:
    """GeoCodeJSON FeatureCollection (``/search`` or ``/reverse``) -> candidates, best first.

    Raises
    ------
    GeocoderParseError
        When the payload is not a FeatureCollection of points with the expected properties
        (the message names the field, never a value: values are addresses).
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("features"), list):
        raise GeocoderParseError("answer is not a FeatureCollection with a 'features' list")
    territory = {str(c) for c in territory_citycodes} if territory_citycodes is not None else None
    results = [_parse_feature(i, f, territory) for i, f in enumerate(payload["features"])]
    results.sort(key=lambda r: -r.score)
    return results


def _parse_feature(i: int, feature: Any, territory: set[str] | None) -> GeocodeResult:
    def bad(what: str) -> GeocoderParseError:
        return GeocoderParseError(f"answer, feature {i}: {what}")

    if not isinstance(feature, dict):
        raise bad("not an object")
    geometry = feature.get("geometry")
    props = feature.get("properties")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise bad("geometry is not a Point")
    coords = geometry.get("coordinates")
    if not (isinstance(coords, list | tuple) and len(coords) >= 2):
        raise bad("coordinates are not [lon, lat]")
    lon, lat = _number(coords[0]), _number(coords[1])
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise bad("coordinates are not valid degrees")
    if not isinstance(props, dict):
        raise bad("properties is not an object")
    label = props.get("label")
    if not isinstance(label, str) or not label:
        raise bad("'label' is missing")
    score = _number(props.get("score"))
    if score is None or not 0 <= score <= 1:
        raise bad("'score' is not a number between 0 and 1")
    kind = props.get("type")
    if kind not in RESULT_TYPES:
        raise bad(f"'type' is not one of {', '.join(RESULT_TYPES)}")
    citycode = _text(props.get("citycode"))
    distance = _number(props.get("distance"))
    return GeocodeResult(
        label=label,
        score=score,
        type=kind,
        lon=lon,
        lat=lat,
        citycode=citycode,
        city=_text(props.get("city")),
        postcode=_text(props.get("postcode")),
        in_territory=None if territory is None else citycode in territory,
        distance_m=distance if distance is not None and distance >= 0 else None,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None


def parse_completion_response(payload: Any, *, area: SearchArea | None = None) -> list[Suggestion]:
    """``/completion`` JSON -> suggestions in the service's order, flagged in the area or not.

    Results that are not street addresses, or lack a label or a valid position, are skipped
    (a suggestion is only a shortcut: the chosen one is looked up with ``/search``).

    Raises
    ------
    GeocoderParseError
        Not ``{"status": "OK", "results": [...]}``.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise GeocoderParseError("completion answer has no 'results' list")
    if payload.get("status") != "OK":
        raise GeocoderParseError("completion answer status is not OK")
    suggestions = []
    for item in payload["results"]:
        if not isinstance(item, dict) or item.get("country") not in (None, "StreetAddress"):
            continue
        label = item.get("fulltext")
        lon, lat = _number(item.get("x")), _number(item.get("y"))
        if not isinstance(label, str) or not label.strip() or lon is None or lat is None:
            continue
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            continue
        city, postcode = _text(item.get("city")), _text(item.get("zipcode"))
        suggestions.append(
            Suggestion(
                label=label.strip(),
                lon=lon,
                lat=lat,
                city=city,
                postcode=postcode,
                in_territory=None if area is None else area.has_commune(city, postcode),
            )
        )
    return suggestions


def parse_csv_response(content: bytes, expected_rows: int) -> pd.DataFrame:
    """The CSV answered by ``/search/csv`` -> one row per sent row, in the order sent.

    Returns the columns ``lon``, ``lat``, ``geocodage_score``, ``geocodage_score_next``,
    ``geocodage_type``, ``geocodage_label``, ``geocodage_citycode``, ``geocodage_status``
    (missing values as NaN / None; ``geocodage_score_next`` is NaN when the service sent no
    ``result_score_next`` column). Values are passed on as sent: judging an incomplete row is
    :mod:`geo.batch`'s business.

    Raises
    ------
    GeocoderParseError
        Not a CSV, missing result columns, or rows lost or added.
    """
    try:
        text = content.decode("utf-8-sig")
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError):
        raise GeocoderParseError("CSV answer is not a UTF-8 CSV") from None
    missing = [c for c in (_ROW_COLUMN, *CSV_RESULT_COLUMNS) if c not in table.columns]
    if missing:
        raise GeocoderParseError(f"CSV answer lacks column(s) {missing}")
    rows = pd.to_numeric(table[_ROW_COLUMN], errors="coerce")
    if rows.isna().any() or sorted(rows.astype(int)) != list(range(expected_rows)):
        raise GeocoderParseError(
            f"CSV answer has {len(table)} rows that do not match the {expected_rows} sent"
        )
    table = table.set_index(rows.astype(int)).sort_index()

    def numbers(column: str) -> pd.Series:
        if column not in table.columns:
            return pd.Series(float("nan"), index=table.index)
        return pd.to_numeric(table[column].replace("", None), errors="coerce").astype(float)

    def texts(column: str) -> pd.Series:
        return table[column].str.strip().replace("", None)

    return pd.DataFrame(
        {
            "lon": numbers("longitude"),
            "lat": numbers("latitude"),
            "geocodage_score": numbers("result_score"),
            "geocodage_score_next": numbers("result_score_next"),
            "geocodage_type": texts("result_type"),
            "geocodage_label": texts("result_label"),
            "geocodage_citycode": texts("result_citycode"),
            "geocodage_status": texts("result_status"),
        }
    )


# --------------------------------------------------------------------------------------------
# High level


def geocode_address(
    address: str,
    *,
    territory_citycodes: Collection[str] | None = None,
    near: tuple[float, float] | None = None,
    limit: int = DEFAULT_LIMIT,
    url: str | None = None,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = _http.DEFAULT_TIMEOUT,
    policy: _http.RetryPolicy = DEFAULT_POLICY,
    limits: _http.AnswerLimits = SEARCH_LIMITS,
    sleep: Callable[[float], None] | None = None,
) -> GeocodeAnswer:
    """Look one address up; candidates outside the territory are flagged, not dropped.

    Parameters
    ----------
    territory_citycodes : collection of str, optional
        INSEE codes of the territory's communes (sets ``in_territory`` on each candidate).
    near : (lon, lat), optional
        Bias point, typically the territory's centre.

    Raises
    ------
    InputError
        Unusable address (French message).
    GeocoderTimedOut, GeocoderRateLimited, GeocoderUnavailable, GeocoderParseError
        The service failed; :func:`user_message` gives the French text to show.
    """
    request = build_search_request(address, limit=limit, near=near, url=url)
    content = send_request(
        request, session=session, timeout=timeout, policy=policy, limits=limits, sleep=sleep
    )
    payload = _json(content, limits, "search")
    candidates = parse_search_response(payload, territory_citycodes=territory_citycodes)
    log.debug("geocoder search: %d candidate(s)", len(candidates))
    return GeocodeAnswer(tuple(candidates))


def reverse_geocode(
    lon: float,
    lat: float,
    *,
    territory_citycodes: Collection[str] | None = None,
    url: str | None = None,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = _http.DEFAULT_TIMEOUT,
    policy: _http.RetryPolicy = DEFAULT_POLICY,
    limits: _http.AnswerLimits = SEARCH_LIMITS,
    sleep: Callable[[float], None] | None = None,
) -> GeocodeResult | None:
    """The address nearest to a point, or None when the service knows none around it.

    Raises
    ------
    GeocoderError
        As for :func:`geocode_address`.
    """
    request = build_reverse_request(lon, lat, url=url)
    content = send_request(
        request, session=session, timeout=timeout, policy=policy, limits=limits, sleep=sleep
    )
    results = parse_search_response(
        _json(content, limits, "reverse"), territory_citycodes=territory_citycodes
    )
    return min(results, key=_distance, default=None)


def _distance(result: GeocodeResult) -> float:
    return math.inf if result.distance_m is None else result.distance_m


def suggest_addresses(
    text: str,
    *,
    area: SearchArea | None = None,
    limit: int = 8,
    url: str | None = None,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = _http.DEFAULT_TIMEOUT,
    policy: _http.RetryPolicy = SUGGEST_POLICY,
    limits: _http.AnswerLimits = SEARCH_LIMITS,
    pace: _http.TokenBucket | None = COMPLETION_PACE,
) -> list[Suggestion]:
    """Up to ``limit`` street addresses of the area starting like ``text`` (``/completion``).

    Asks the service for its maximum (15) within the area's départements and keeps those whose
    commune is one of the area's.

    Raises
    ------
    InputError
        Text too short or otherwise unusable.
    GeocoderRateLimited
        ``pace`` has no token left: no request was sent (the quota is shared by every visitor).
    GeocoderError
        As for :func:`geocode_address`.
    """
    request = build_completion_request(
        text, departements=area.departements if area else (), url=url
    )
    if pace is not None and not pace.take():
        raise GeocoderRateLimited("completion: local pace exceeded, request not sent")
    content = send_request(request, session=session, timeout=timeout, policy=policy, limits=limits)
    suggestions = parse_completion_response(_json(content, limits, "completion"), area=area)
    kept = [s for s in suggestions if s.in_territory is not False]
    return list({fold(s.label): s for s in kept}.values())[:limit]


def geocode_csv_rows(
    rows: pd.DataFrame,
    address_columns: Sequence[str],
    *,
    citycode_column: str | None = None,
    chunk_size: int = CSV_CHUNK_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
    url: str | None = None,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = CSV_TIMEOUT,
    policy: _http.RetryPolicy = DEFAULT_POLICY,
    limits: _http.AnswerLimits = CSV_LIMITS,
    file_deadline_s: float = FILE_DEADLINE_S,
    sleep: Callable[[float], None] | None = None,
    parallel: int = 1,
    failed_chunks: Literal["raise", "rows"] = "raise",
) -> pd.DataFrame:
    """Geocode a table through the bulk endpoint, ``chunk_size`` rows per request.

    Parameters
    ----------
    rows : pandas.DataFrame
        The user's table (only the address and citycode columns are sent).
    address_columns : sequence of str
        Columns joined (by the service) into the address, e.g. ``["adresse", "commune"]``.
    citycode_column : str, optional
        Column of INSEE codes restricting each row's search to its commune.
    on_progress : callable, optional
        Called as ``on_progress(done_rows, total_rows)`` before the first and after each chunk.
    limits, file_deadline_s : optional
        Bounds of each chunk's answer (size, time) and the time for all chunks together.
    parallel : int
        Chunks in flight at once (at most :data:`CSV_MAX_PARALLEL`); their requests start at
        most :data:`CSV_RATE` a second, under the service's quota. The answer keeps the rows'
        order whatever order the chunks come back in.
    failed_chunks : {"raise", "rows"}
        What a chunk the service could not geocode gives: the error (the whole table is then
        lost), or its rows with ``geocodage_status`` « error » (« non localisée » for the
        user; the other chunks kept).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``rows``: the columns of :func:`parse_csv_response`.

    Raises
    ------
    InputError
        Missing columns; GeocoderError subclasses as for :func:`geocode_address` (with
        ``failed_chunks="raise"``).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
    total = len(rows)
    if on_progress:
        on_progress(0, total)
    file_deadline = _http.Deadline(file_deadline_s)

    def geocode_chunk(start: int) -> pd.DataFrame:
        chunk = rows.iloc[start : start + chunk_size]
        request = build_csv_request(
            chunk, address_columns, citycode_column=citycode_column, url=url
        )
        sent = len(request.files["data"][1]) if request.files else 0
        try:
            content = send_request(
                request,
                session=session,
                timeout=timeout,
                policy=policy,
                # The answer repeats what was sent, then adds the result columns.
                limits=_http.AnswerLimits(
                    max_bytes=limits.max_bytes + 2 * sent,
                    max_depth=limits.max_depth,
                    deadline_s=limits.deadline_s,
                    max_redirects=limits.max_redirects,
                ),
                deadline=file_deadline,
                sleep=sleep,
            )
            part = parse_csv_response(content, len(chunk))
        except GeocoderError as exc:
            if failed_chunks == "raise":
                raise
            log.warning("geocoder bulk: a chunk of %d rows failed (%s)", len(chunk), exc)
            part = _failed_rows(len(chunk))
        part.index = chunk.index
        return part

    parts: list[pd.DataFrame] = []
    done = 0
    answers = ordered_map(
        geocode_chunk,
        range(0, total, chunk_size),
        workers=min(parallel, CSV_MAX_PARALLEL),
        rate=CSV_RATE,
    )
    for part in answers:
        parts.append(part)
        done += len(part)
        log.debug("geocoder bulk: %d/%d rows", done, total)
        if on_progress:
            on_progress(done, total)
    if not parts:
        return parse_csv_response(_empty_answer(), 0).set_axis(rows.index[:0])
    return pd.concat(parts)


CSV_MAX_PARALLEL = 8
CSV_RATE = 40.0
"""Bulk requests started per second at most: under the Géoplateforme's 50 a second per IP."""


def _failed_rows(count: int) -> pd.DataFrame:
    """The answer of a chunk the service could not geocode: every row « error »."""
    part = parse_csv_response(_empty_answer(), 0).reindex(range(count))
    part["geocodage_status"] = "error"
    return part


def _empty_answer() -> bytes:
    return (",".join((_ROW_COLUMN, *CSV_RESULT_COLUMNS)) + "\n").encode()


# --------------------------------------------------------------------------------------------
# Keep addresses (and points) out of urllib3's debug log


class _RedactQuery(logging.Filter):
    """Mask the query string of search, completion and reverse URLs in urllib3's records."""

    _QUERY = re.compile(r"(/(?:search|completion|reverse)[^?\s\"]*)\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                self._QUERY.sub(r"\1?<masqué>", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self._QUERY.sub(r"\1?<masqué>", record.msg)
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactQuery) for f in logger.filters):
        logger.addFilter(_RedactQuery())


_install_log_filter()
