"""One address geocoded: its candidates, the address nearest to a point, suggestions while typing.

The answers of the Géoplateforme's ``/search``, ``/reverse`` (GeoCodeJSON) and ``/completion``
are parsed here by pure functions, testable on recorded answers; the requests are built and sent
by :mod:`geo.geocoder`, a table goes through :mod:`geo.geocode_bulk`. A parser's message
names the field, never a value: values are addresses.

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

import logging
import math
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from geo import _http
from geo.errors import GeocoderParseError, GeocoderRateLimited
from geo.geocoder import (
    DEFAULT_LIMIT,
    DEFAULT_POLICY,
    SEARCH_LIMITS,
    build_completion_request,
    build_reverse_request,
    build_search_request,
    send_request,
)

log = logging.getLogger(__name__)

AMBIGUITY_GAP = 0.05  # two best scores closer than this, with different labels: ask the user
LOW_SCORE = 0.5  # below this the best candidate is a guess
RESULT_TYPES = ("housenumber", "street", "locality", "municipality")
SUGGEST_POLICY = _http.RetryPolicy(attempts=1)  # while typing, the next keystroke is the retry

# The completion quota (10 requests/s) is per IP, and every visitor's keystrokes leave from the
# server's: a process keeps well under it and skips a suggestion rather than being refused.
COMPLETION_PACE = _http.TokenBucket(rate=4.0, burst=4)


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


def fold(text: str) -> str:
    """Compare names and labels without case, accents or punctuation."""
    text = unicodedata.normalize("NFKD", str(text).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


# --------------------------------------------------------------------------------------------
# Parsing (pure)


def _json(content: bytes, limits: _http.AnswerLimits, what: str) -> Any:
    try:
        return _http.loads_bounded(content, max_depth=limits.max_depth)
    except _http.AnswerTooDeep:
        raise GeocoderParseError(f"{what} answer is nested too deep") from None
    except ValueError:
        raise GeocoderParseError(f"{what} answer is not JSON") from None


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
        The service failed; :func:`geo.geocoder.user_message` gives the French text to show.
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
