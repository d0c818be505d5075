"""One point's answer to « Suis-je en QPV ? », said alike on the page, in the PDF and the CLI.

A :class:`PointAnswer` is the point asked about (:class:`LocatedPoint`: an address located by the
address service, a map click or typed coordinates), its verdict for each generation of
perimeters, the nearest address when a reverse look-up found one, and when the check was made.
From it:

* its verdicts are said with ``geo.verdict`` (:func:`geo.verdict.headline`: « Oui, dans le
  quartier prioritaire X », « Non, hors quartier prioritaire (à 250 m de X) », « Incertain : … »);
* :func:`uncertainty` says why an « Incertain » cannot be settled here and what to do, with
  :func:`geoportail_url` (the only place that URL is built) to look at the spot on the official
  maps.

Pure functions: nothing here logs or stores the address.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from geo.format import fr_distance, fr_number, french_date
from geo.geocode import GeocodeResult
from geo.geocoder import SERVICE_NAME
from geo.verdict import REASON_LABELS, TYPE_LEVEL_FR, Verdict

SOURCE_ADDRESS = "adresse"
SOURCE_MAP = "carte"
SOURCE_COORDINATES = "coordonnées"

TYPE_PRECISION_FR = {
    "housenumber": "au numéro",
    "street": "à la rue seulement",
    "locality": "au lieu-dit seulement",
    "municipality": "à la commune seulement",
}
GEOPORTAIL_MAP_URL = "https://www.geoportail.gouv.fr/carte"
GEOPORTAIL_LAYER = "GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2::GEOPORTAIL:OGC:WMTS(1)"  # Plan IGN
GEOPORTAIL_ZOOM = 17  # a few streets around the point
PARIS = ZoneInfo("Europe/Paris")
NOTICE = (
    "Réponse indicative, calculée d'après les périmètres publiés : ce n'est pas une attestation. "
    "La référence officielle est le SIG Ville (sig.ville.gouv.fr)."
)


@dataclass(frozen=True)
class LocatedPoint:
    """The point a verdict is about, and where it came from (address, map click, coordinates)."""

    lon: float
    lat: float
    source: str
    label: str | None = None  # the address service's label of the address
    result_type: str | None = None  # its type; None for a point given directly
    score: float | None = None
    in_territory: bool | None = None

    @classmethod
    def from_candidate(cls, candidate: GeocodeResult) -> LocatedPoint:
        """The point of a candidate of the address service."""
        return cls(
            lon=candidate.lon,
            lat=candidate.lat,
            source=SOURCE_ADDRESS,
            label=candidate.label,
            result_type=candidate.type,
            score=candidate.score,
            in_territory=candidate.in_territory,
        )

    @property
    def coordinates_fr(self) -> str:
        """``latitude 50,44998, longitude 2,83785``."""
        return f"latitude {fr_number(self.lat, 5)}, longitude {fr_number(self.lon, 5)}"


@dataclass(frozen=True)
class PointAnswer:
    """Everything shown about one point: verdicts, nearest address, when it was checked."""

    point: LocatedPoint
    verdicts: Mapping[int, Verdict]
    nearest_address: GeocodeResult | None = None  # reverse look-up: approximate
    checked_at: datetime = field(default_factory=lambda: datetime.now(PARIS))

    def with_nearest_address(self, result: GeocodeResult | None) -> PointAnswer:
        """The same answer with the reverse look-up's address."""
        return PointAnswer(self.point, self.verdicts, result, self.checked_at)


@dataclass(frozen=True)
class Uncertainty:
    """Why an answer is uncertain and what to do about it."""

    reasons: tuple[str, ...]
    advice: str
    map_url: str


def uncertainty(verdict: Verdict, point: LocatedPoint, *, simplified: bool) -> Uncertainty | None:
    """For an « Incertain » verdict: every reason, and what to do (a map centred on the point).

    ``simplified`` says the perimeters of the verdict's generation are a simplified copy.
    """
    if verdict.status != "uncertain":
        return None
    reasons = []
    if not math.isfinite(verdict.tolerance_m):
        level = TYPE_LEVEL_FR.get(point.result_type or "")
        reasons.append(
            f"l'adresse n'a été localisée qu'{level} : sa position exacte est inconnue"
            if level
            else "la position de l'adresse est trop imprécise"
        )
    elif verdict.nearest is not None and verdict.distance_m <= verdict.tolerance_m:
        reasons.append(
            f"le point est à {fr_distance(verdict.distance_m)} de la limite du quartier "
            f"{verdict.nearest.name} ({verdict.nearest.code}), moins que la marge d'incertitude "
            f"de {fr_distance(verdict.tolerance_m)}"
        )
        if simplified:
            reasons.append(
                f"les contours {verdict.generation} disponibles ici sont une copie simplifiée "
                "des contours officiels"
            )
    else:
        reasons.append(f"le point est {REASON_LABELS['territory_edge']}")
    if not math.isfinite(verdict.tolerance_m):
        advice = (
            "Précisez le numéro dans la voie, ou placez le point exact sur la carte. Pour "
            "trancher, vérifiez l'adresse sur le SIG Ville, la référence officielle."
        )
    else:
        advice = (
            "Regardez l'endroit exact sur le Géoportail (carte de l'IGN centrée sur ce point), "
            "puis vérifiez sur le SIG Ville, la référence officielle."
        )
    return Uncertainty(tuple(reasons), advice, geoportail_url(point.lon, point.lat))


def geoportail_url(lon: float, lat: float, *, zoom: int = GEOPORTAIL_ZOOM) -> str:
    """The Géoportail map (Plan IGN) centred on a WGS84 point: ``…/carte?c=lon,lat&z=…``."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"not a point: {lon!r}, {lat!r}")
    query = urllib.parse.urlencode(
        {
            "c": f"{lon:.6f},{lat:.6f}",
            "z": str(int(zoom)),
            "l0": GEOPORTAIL_LAYER,
            "permalink": "yes",
        },
        safe=",:",  # parentheses encoded: the URL goes into Markdown links
    )
    return f"{GEOPORTAIL_MAP_URL}?{query}"


def point_origin(point: LocatedPoint) -> str:
    """Where the point comes from, in one plain sentence (the address label as given)."""
    if point.source == SOURCE_ADDRESS:
        precision = TYPE_PRECISION_FR.get(point.result_type or "")
        how = f"localisée {precision}" if precision else "localisée"
        return (
            f"Adresse trouvée : {point.label or ''}, {how} par {SERVICE_NAME} "
            f"({point.coordinates_fr})."
        )
    if point.source == SOURCE_MAP:
        return f"Point choisi sur la carte : {point.coordinates_fr}."
    return f"Coordonnées saisies : {point.coordinates_fr}."


def nearest_address_sentence(result: GeocodeResult) -> str:
    """The reverse look-up's address, said to be approximate."""
    distance = "" if result.distance_m is None else f", à environ {fr_distance(result.distance_m)}"
    return f"Adresse la plus proche (approximative) : {result.label}{distance}."


def checked_at_fr(moment: datetime) -> str:
    """``le 30 novembre 2026 à 14 h 05`` (Paris time)."""
    local = moment.astimezone(PARIS)
    return f"le {french_date(local.date())} à {local.hour} h {local.minute:02d}"
