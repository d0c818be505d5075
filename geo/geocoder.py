"""The address service of the IGN Géoplateforme (``https://data.geopf.fr/geocodage``): where it
is, how it is asked, what its failures tell a user.

The DINUM's BAN API (api-adresse.data.gouv.fr) closed at the end of January 2026; its successor
answers the same GeoCodeJSON on the Géoplateforme:

* ``GET /search``: one address -> candidates (``q``, ``limit``, ``lat``/``lon`` bias);
* ``GET /reverse``: a point -> the nearest addresses (``lon``, ``lat``, ``limit``);
* ``POST /search/csv``: a CSV in, the same CSV out with ``latitude``, ``longitude`` and
  ``result_*`` columns (``result_score_next``: the score of the second candidate);
* ``GET /completion``: suggestions while typing (``text``, ``type=StreetAddress``,
  ``maximumResponses`` 1-15, ``terr``: département filter), JSON ``{"status", "results"}``.

Quotas: 50 requests/s per IP (HTTP 429 with ``Retry-After`` beyond), 10 requests/s for the
completion. Building a request, sending it and parsing the answer are separate functions:
this module builds the one-address requests and sends every request; the answers are parsed
by :mod:`geo.geocode` (one address) and :mod:`geo.geocode_bulk` (a table). Sending goes through
:func:`geo._http.fetch_bounded`: User-Agent, bounded retries on 429/5xx, and limits on size
(after decompression), JSON depth, time (one deadline per call, and per file for the bulk) and
redirects (same host only).

Addresses are personal data: they are never logged, never written to disk and never put in an
exception message. The search, completion and reverse endpoints take the address (or the point)
in the query string, and urllib3 logs request lines at DEBUG level, so a logging filter installed
on import masks the query string of those requests in urllib3's log records. The bulk CSV is
built and posted from memory.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
RetryPolicy = _http.RetryPolicy  # public: callers choose how patient a lookup is
AnswerLimits = _http.AnswerLimits
DEFAULT_POLICY = RetryPolicy()

SEARCH_LIMITS = AnswerLimits(max_bytes=1_000_000, max_depth=16, deadline_s=30.0)
"""A GeoCodeJSON answer of at most 20 features is a few kilobytes, nested 6 deep."""

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
    """French message to show a user for an error raised while geocoding (here,
    :mod:`geo.geocode` or :mod:`geo.geocode_bulk`)."""
    if isinstance(exc, InputError):
        return str(exc)  # already French and free of the address
    for kind, message in USER_MESSAGES.items():
        if isinstance(exc, kind):
            return message
    return "La recherche d'adresse a échoué."


def base_url(override: str | None = None) -> str:
    """The API root: ``override``, else ``$QPV_GEOCODER_URL``, else the Géoplateforme's."""
    return (override or os.environ.get(ENV_URL) or DEFAULT_BASE_URL).rstrip("/")


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
