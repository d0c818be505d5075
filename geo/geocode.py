"""Client of the BAN address API (api-adresse.data.gouv.fr): one address, or a table in bulk.

Building a request, sending it and parsing the answer are separate functions, so the parsers are
pure and testable on recorded answers. Sending goes through :mod:`geo._http` (User-Agent,
timeouts, bounded retries on 429/5xx honouring ``Retry-After``).

Addresses are personal data: they are never logged, never written to disk and never put in an
exception message. The search endpoint only takes the address in the query string, and urllib3
logs request lines at DEBUG level, so a logging filter installed on import redacts the query
string of ``/search`` requests in urllib3's log records. The bulk CSV is built and posted from
memory.

Territory
---------
The API filters on one ``citycode`` per request, and a territory has dozens of communes. Rather
than one request per commune, :func:`geocode_address` sends one request biased towards the
territory (``lat``/``lon`` of its centre: nearby results rank higher) and flags each candidate
whose ``citycode`` is not one of the territory's (``GeocodeResult.in_territory``), so the page
can warn instead of silently answering for another town.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import requests

from geo import _http
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
DEFAULT_BASE_URL = "https://api-adresse.data.gouv.fr"
MIN_LENGTH = 3  # BAN answers 400 below 3 and above 200 characters
MAX_LENGTH = 200
DEFAULT_LIMIT = 5
AMBIGUITY_GAP = 0.05  # two best scores closer than this, with different labels: ask the user
LOW_SCORE = 0.5  # below this the best candidate is a guess
RESULT_TYPES = ("housenumber", "street", "locality", "municipality")
CSV_CHUNK_SIZE = 2_000
CSV_TIMEOUT = (5.0, 120.0)  # a bulk chunk takes longer to answer than one search
RetryPolicy = _http.RetryPolicy  # public: callers choose how patient a lookup is
DEFAULT_POLICY = RetryPolicy()

# Columns appended by /search/csv/ that this module reads.
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
    GeocoderTimedOut: (
        "Le service d'adresses (Base Adresse Nationale) n'a pas répondu à temps. "
        "Réessayez dans un instant."
    ),
    GeocoderRateLimited: (
        "Le service d'adresses reçoit trop de demandes en ce moment. Patientez quelques secondes "
        "puis réessayez."
    ),
    GeocoderUnavailable: (
        "Le service d'adresses (Base Adresse Nationale) est indisponible pour le moment. "
        "Réessayez plus tard, ou placez le point directement sur la carte."
    ),
    GeocoderParseError: (
        "Le service d'adresses a renvoyé une réponse illisible. Réessayez plus tard, ou placez "
        "le point directement sur la carte."
    ),
    GeocoderError: "Le service d'adresses a refusé la demande. Réessayez plus tard.",
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
    """The API root: ``override``, else ``$QPV_GEOCODER_URL``, else the public BAN."""
    return (override or os.environ.get(ENV_URL) or DEFAULT_BASE_URL).rstrip("/")


# --------------------------------------------------------------------------------------------
# Types


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
    punctuation goes (BAN wants a letter or a digit first). Never fails on any ``str`` except by
    raising :class:`InputError`.

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


def build_search_request(
    address: str,
    *,
    limit: int = DEFAULT_LIMIT,
    citycode: str | None = None,
    near: tuple[float, float] | None = None,
    url: str | None = None,
) -> GeocodeRequest:
    """The ``GET /search/`` request for one address (validated with :func:`normalize_address`).

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
        lon, lat = near
        params["lon"] = f"{float(lon):.6f}"
        params["lat"] = f"{float(lat):.6f}"
    return GeocodeRequest("GET", f"{base_url(url)}/search/", params=params)


def build_csv_request(
    rows: pd.DataFrame,
    address_columns: Sequence[str],
    *,
    citycode_column: str | None = None,
    url: str | None = None,
) -> GeocodeRequest:
    """The ``POST /search/csv/`` request for a table (built in memory, never on disk).

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
        f"{base_url(url)}/search/csv/",
        data=tuple(data),
        # Bytes, not the buffer: a retried request must send the whole file again.
        files={"data": ("adresses.csv", buffer.getvalue(), "text/csv")},
    )


# --------------------------------------------------------------------------------------------
# Sending


def send_request(
    request: GeocodeRequest,
    *,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = _http.DEFAULT_TIMEOUT,
    policy: _http.RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] | None = None,
) -> requests.Response:
    """Send a request with bounded retries; return the successful response.

    Raises
    ------
    GeocoderTimedOut, GeocoderRateLimited, GeocoderUnavailable, GeocoderError
        Transport failure, 429 or 5xx after the retries, or another refusal.
    InputError
        HTTP 400: the service refused the address itself.
    """
    own = session is None
    session = session or _http.make_session()
    kwargs: dict[str, Any] = {"policy": policy, "timeout": timeout}
    if sleep is not None:
        kwargs["sleep"] = sleep
    if request.params:
        kwargs["params"] = request.params
    if request.data:
        kwargs["data"] = list(request.data)
    if request.files:
        kwargs["files"] = request.files
    endpoint = urllib.parse.urlsplit(request.url).path  # the query (the address) is in params
    try:
        # The chained exceptions are dropped ("from None"): requests puts the URL, hence the
        # address, in their messages.
        try:
            response = _http.request_with_retries(session, request.method, request.url, **kwargs)
        except requests.Timeout:
            raise GeocoderTimedOut(
                f"BAN {endpoint}: no answer within {timeout} s after {policy.attempts} attempts"
            ) from None
        except requests.RequestException as exc:
            raise GeocoderUnavailable(
                f"BAN {endpoint}: {type(exc).__name__} after {policy.attempts} attempts"
            ) from None
    finally:
        if own:
            session.close()
    status = response.status_code
    log.debug("BAN %s answered HTTP %s", endpoint, status)
    if 200 <= status < 300:
        return response
    response.close()
    if status == 429:
        raise GeocoderRateLimited(f"BAN {endpoint}: HTTP 429 after {policy.attempts} attempts")
    if status >= 500:
        raise GeocoderUnavailable(f"BAN {endpoint}: HTTP {status} after {policy.attempts} attempts")
    if status == 400:
        raise InputError(
            "Le service d'adresses a refusé cette adresse : vérifiez-la "
            f"({MIN_LENGTH} à {MAX_LENGTH} caractères, commençant par une lettre ou un chiffre)."
        )
    raise GeocoderError(f"BAN {endpoint}: unexpected HTTP {status}")


# --------------------------------------------------------------------------------------------
# Parsing (pure)


def parse_search_response(
    payload: Any, *, territory_citycodes: Collection[str] | None = None
) -> list[GeocodeResult]:
    """GeoCodeJSON FeatureCollection -> candidates, best score first.

    Raises
    ------
    GeocoderParseError
        When the payload is not a FeatureCollection of points with the expected properties
        (the message names the field, never a value: values are addresses).
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("features"), list):
        raise GeocoderParseError("BAN answer is not a FeatureCollection with a 'features' list")
    territory = {str(c) for c in territory_citycodes} if territory_citycodes is not None else None
    results = []
    for i, feature in enumerate(payload["features"]):
        results.append(_parse_feature(i, feature, territory))
    results.sort(key=lambda r: -r.score)
    return results


def _parse_feature(i: int, feature: Any, territory: set[str] | None) -> GeocodeResult:
    def bad(what: str) -> GeocoderParseError:
        return GeocoderParseError(f"BAN answer, feature {i}: {what}")

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
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None


def parse_csv_response(content: bytes, expected_rows: int) -> pd.DataFrame:
    """The CSV answered by ``/search/csv/`` -> one row per sent row, in the order sent.

    Returns the columns ``lon``, ``lat``, ``geocodage_score``, ``geocodage_type``,
    ``geocodage_label``, ``geocodage_citycode``, ``geocodage_status``.

    Raises
    ------
    GeocoderParseError
        Not a CSV, missing result columns, or rows lost or added.
    """
    try:
        text = content.decode("utf-8-sig")
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError):
        raise GeocoderParseError("BAN CSV answer is not a UTF-8 CSV") from None
    missing = [c for c in (_ROW_COLUMN, *CSV_RESULT_COLUMNS) if c not in table.columns]
    if missing:
        raise GeocoderParseError(f"BAN CSV answer lacks column(s) {missing}")
    rows = pd.to_numeric(table[_ROW_COLUMN], errors="coerce")
    if rows.isna().any() or sorted(rows.astype(int)) != list(range(expected_rows)):
        raise GeocoderParseError(
            f"BAN CSV answer has {len(table)} rows that do not match the {expected_rows} sent"
        )
    table = table.set_index(rows.astype(int)).sort_index()

    def numbers(column: str) -> pd.Series:
        return pd.to_numeric(table[column].replace("", None), errors="coerce").astype(float)

    return pd.DataFrame(
        {
            "lon": numbers("longitude"),
            "lat": numbers("latitude"),
            "geocodage_score": numbers("result_score"),
            "geocodage_type": table["result_type"].replace("", None),
            "geocodage_label": table["result_label"].replace("", None),
            "geocodage_citycode": table["result_citycode"].replace("", None),
            "geocodage_status": table["result_status"].replace("", None),
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
    timeout: float | tuple[float, float] = _http.DEFAULT_TIMEOUT,
    policy: _http.RetryPolicy = DEFAULT_POLICY,
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
    response = send_request(request, session=session, timeout=timeout, policy=policy, sleep=sleep)
    try:
        payload = response.json()
    except ValueError:
        raise GeocoderParseError("BAN search answer is not JSON") from None
    candidates = parse_search_response(payload, territory_citycodes=territory_citycodes)
    log.debug("BAN search: %d candidate(s)", len(candidates))
    return GeocodeAnswer(tuple(candidates))


def geocode_csv_rows(
    rows: pd.DataFrame,
    address_columns: Sequence[str],
    *,
    citycode_column: str | None = None,
    chunk_size: int = CSV_CHUNK_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
    url: str | None = None,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = CSV_TIMEOUT,
    policy: _http.RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] | None = None,
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

    Returns
    -------
    pandas.DataFrame
        Indexed like ``rows``: ``lon``, ``lat``, ``geocodage_score``, ``geocodage_type``,
        ``geocodage_label``, ``geocodage_citycode``, ``geocodage_status`` ("ok", "not-found",
        "skipped", "error").

    Raises
    ------
    InputError
        Missing columns; GeocoderError subclasses as for :func:`geocode_address` (the rows
        already geocoded are lost: the whole table is one operation for the user).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
    total = len(rows)
    if on_progress:
        on_progress(0, total)
    own = session is None
    session = session or _http.make_session()
    parts = []
    try:
        for start in range(0, total, chunk_size):
            chunk = rows.iloc[start : start + chunk_size]
            request = build_csv_request(
                chunk, address_columns, citycode_column=citycode_column, url=url
            )
            response = send_request(
                request, session=session, timeout=timeout, policy=policy, sleep=sleep
            )
            part = parse_csv_response(response.content, len(chunk))
            part.index = chunk.index
            parts.append(part)
            log.debug("BAN bulk: %d/%d rows", start + len(chunk), total)
            if on_progress:
                on_progress(start + len(chunk), total)
    finally:
        if own:
            session.close()
    if not parts:
        return parse_csv_response(_empty_answer(), 0).set_axis(rows.index[:0])
    return pd.concat(parts)


def _empty_answer() -> bytes:
    return (",".join((_ROW_COLUMN, *CSV_RESULT_COLUMNS)) + "\n").encode()


# --------------------------------------------------------------------------------------------
# Keep addresses out of urllib3's debug log


class _RedactSearchQuery(logging.Filter):
    """Replace the query string of ``/search`` URLs in urllib3 records by ``?<masqué>``."""

    _QUERY = re.compile(r"(/search[^?\s\"]*)\?[^\s\"]*")

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
    if not any(isinstance(f, _RedactSearchQuery) for f in logger.filters):
        logger.addFilter(_RedactSearchQuery())


_install_log_filter()
