"""The map's visual language, defined once: kinds of shapes, their colours, lines and labels.

The live map (``ui.mapview``, Leaflet), the presentation, the PNG maps (``geo.mapimage``,
matplotlib) and the PDF sheets (``geo.factsheet``, fpdf2) all draw from :data:`KINDS`; none of
them writes a colour of its own. A quartier's status is never told by colour alone: each kind
of quartier has its own dash pattern too, and the selected quartier a thick dark outline over a
white halo.
Colours are the Okabe-Ito palette (told apart with every common colour-vision deficiency),
darkened where a line needs 3:1 against the map's light backgrounds (WCAG 2.1, non-text
contrast).

Also here: where the commune names go on the live map and from which zoom level each one fits
(:func:`commune_labels`), so that the JavaScript side only shows and hides labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import shapely
from shapely.ops import polylabel

from geo.coordinates import LAMBERT93, WGS84
from geo.territory import STATUS_NEIGHBOURING

PX_PER_PT = 96 / 72  # CSS pixels (Leaflet) per typographic point (matplotlib, fpdf)


@dataclass(frozen=True)
class Kind:
    """How one kind of shape is drawn on every map, and how legends name it.

    Lengths are CSS pixels at the screen's scale; print converts them with :data:`PX_PER_PT`.
    ``dash`` is an SVG dash pattern (lengths of dash, gap, dash...), None for a solid line.
    ``halo`` is the width of a white line drawn under the outline (0: none).
    """

    key: str
    label: str
    stroke: str
    width: float
    dash: tuple[float, ...] | None = None
    fill: str | None = None
    fill_opacity: float = 0.0
    halo: float = 0.0

    @property
    def dash_svg(self) -> str | None:
        """The dash pattern as SVG/Leaflet write it (``"9 5"``), or None when solid."""
        return " ".join(f"{v:g}" for v in self.dash) if self.dash else None

    @property
    def dash_pt(self) -> tuple[float, ...] | None:
        """The dash pattern in points (matplotlib, PDF)."""
        return tuple(v / PX_PER_PT for v in self.dash) if self.dash else None

    @property
    def width_pt(self) -> float:
        """The line width in points."""
        return self.width / PX_PER_PT

    @property
    def halo_pt(self) -> float:
        """The white halo's width in points."""
        return self.halo / PX_PER_PT


CONTRACT = Kind(
    key="contrat",
    label="Quartier du contrat de ville",
    stroke="#B35000",  # Okabe-Ito vermillion, darkened: 3.8:1 on Leaflet's grey
    width=2.5,
    fill="#D55E00",
    fill_opacity=0.45,
)
SHARED = Kind(
    key="partage",
    label="Quartier partagé avec un autre EPCI",
    stroke="#8E3B8E",
    width=2.5,
    dash=(9, 5),
    fill="#8E3B8E",
    fill_opacity=0.35,
)
NEIGHBOURING = Kind(
    key="voisin",
    label="Quartier voisin (hors contrat de ville)",
    stroke="#4D4D4D",
    width=2.5,
    dash=(2, 5),
    fill="#4D4D4D",
    fill_opacity=0.12,
)
SELECTED = Kind(
    key="choisi",
    label="Quartier choisi",
    stroke="#000000",
    width=3.5,
    fill="#F0E442",  # Okabe-Ito yellow, under a black outline on a white halo
    fill_opacity=0.75,
    halo=8.0,
)
TERRITORY = Kind(
    key="territoire",
    label="Limite du territoire",
    stroke="#000091",
    width=3.0,
)
KINDS: tuple[Kind, ...] = (CONTRACT, SHARED, NEIGHBOURING, SELECTED, TERRITORY)
"""Every kind a legend can show, in the legends' order."""

# Not in the legend: the communes (the background), and the other generation's contour of the
# selected quartier (drawn on request, named by the toggle that draws it).
COMMUNE = Kind(key="commune", label="Commune", stroke="#6A6A6A", width=1.0, fill="#FFFFFF")
COMMUNE_IN_FOCUS = Kind(
    key="commune_choisie", label="Commune", stroke="#333333", width=2.0, fill="#FFFFFF"
)
COUNTERPART_LOOK = "tirets bleus"  # how the panels name it
COUNTERPART = Kind(
    key="autre_perimetre",
    label=f"Périmètre de l'autre génération ({COUNTERPART_LOOK})",
    stroke="#0072B2",
    width=3.5,
    dash=(10, 6),
)

# A point someone asked about (the address page, its printed answer), and the 300 m / 500 m
# circles drawn around it.
POINT = Kind(
    key="point", label="Point vérifié", stroke="#FFFFFF", width=2.0, fill="#000091", fill_opacity=1
)
NEAR_RING = Kind(
    key="cercle_300", label="Cercle de 300 m", stroke="#161616", width=1.2, dash=(6, 4)
)
FAR_RING = Kind(key="cercle_500", label="Cercle de 500 m", stroke="#161616", width=1.2, dash=(2, 4))

TEXT = "#161616"  # legends, labels and sheets: 17.7:1 on white
MUTED_TEXT = "#404040"  # secondary text (captions, commune names): 10.4:1 on white
PAPER = "#FFFFFF"
PAPER_COMMUNE_FILL = "#F2F2F2"  # communes on paper (PNG, PDF), where there are no map tiles
LEGEND_BORDER = "#929292"


def quartier_kind(status: str, shared: bool) -> Kind:
    """The kind of a quartier from its status (``contrat``/``voisin``) and sharing."""
    if status == STATUS_NEIGHBOURING:
        return NEIGHBOURING
    return SHARED if shared else CONTRACT


def legend_kinds(present: Iterable[Kind], *, selected: bool, outline: bool = True) -> list[Kind]:
    """The rows of a legend, in :data:`KINDS` order: the kinds drawn, then the selection."""
    shown = set(present)
    if selected:
        shown.add(SELECTED)
    if outline:
        shown.add(TERRITORY)
    return [kind for kind in KINDS if kind in shown]


def legend_label(kind: Kind, territory: str) -> str:
    """A legend row's text: the kind's label, the territory's outline named after it."""
    return f"{kind.label} ({territory})" if kind is TERRITORY else kind.label


# ---------------------------------------------------------------------------------------------
# Colour arithmetic


def rgb(colour: str) -> tuple[int, int, int]:
    """``"#D55E00"`` -> ``(213, 94, 0)``."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"expected a colour as #RRGGBB, got {colour!r}")
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))


def blend(colour: str, opacity: float, background: str = PAPER) -> tuple[int, int, int]:
    """The colour seen when ``colour`` at ``opacity`` is laid over ``background``."""
    (r, g, b), (r0, g0, b0) = rgb(colour), rgb(background)
    return (
        round(r * opacity + r0 * (1 - opacity)),
        round(g * opacity + g0 * (1 - opacity)),
        round(b * opacity + b0 * (1 - opacity)),
    )


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio of two colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [c / 255 for c in rgb(colour)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# ---------------------------------------------------------------------------------------------
# Commune names on the live map

LABEL_FONT_PX = 12
LABEL_CHAR_PX = 0.6 * LABEL_FONT_PX  # average advance of a sans-serif letter, bold-ish
LABEL_PADDING_PX = 6
LABEL_ZOOM_RANGE = (9, 17)
# Web Mercator: metres per pixel at zoom 0 on the equator (256-pixel tiles).
_METRES_PER_PX_Z0 = 2 * math.pi * 6_378_137 / 256


@dataclass(frozen=True)
class Label:
    """A commune's name on the live map, shown from ``min_zoom`` on.

    ``lat``/``lon`` is the point deepest inside the commune; ``priority`` orders labels when
    two would overlap (the larger commune wins).
    """

    code: str
    text: str
    lat: float
    lon: float
    min_zoom: int
    priority: float


def label_min_zoom(text: str, inner_radius_m: float, latitude: float) -> int:
    """The first zoom level at which ``text`` fits inside a circle of ``inner_radius_m``.

    The label's width is estimated from its length; the circle is the largest one inside the
    commune, so an elongated commune gets its name later than a round one of the same area.
    """
    low, high = LABEL_ZOOM_RANGE
    width_px = len(text) * LABEL_CHAR_PX + 2 * LABEL_PADDING_PX
    if inner_radius_m <= 0:
        return high
    metres_per_px_z0 = _METRES_PER_PX_Z0 * math.cos(math.radians(latitude))
    zoom = math.ceil(math.log2(width_px * metres_per_px_z0 / (2 * inner_radius_m)))
    return min(max(zoom, low), high)


def commune_labels(communes, *, metric_crs: str = LAMBERT93) -> tuple[Label, ...]:
    """Where and from which zoom each commune's name is written, largest communes first.

    Parameters
    ----------
    communes
        GeoDataFrame with ``code`` and ``name`` columns and a CRS.
    metric_crs
        A CRS in metres for the distances (Lambert-93 by default).
    """
    if communes.crs is None:
        raise ValueError("the communes have no CRS")
    metric = communes.to_crs(metric_crs)
    labels = []
    for code, name, shape in zip(metric["code"], metric["name"], metric.geometry, strict=True):
        part = max(getattr(shape, "geoms", [shape]), key=lambda p: p.area)
        point = polylabel(part, tolerance=10.0)
        radius = float(part.exterior.distance(point))
        labels.append((code, str(name), point, radius, float(shape.area)))
    points = shapely.points([[p.x, p.y] for _, _, p, _, _ in labels])
    lonlat = gpd.GeoSeries(points, crs=metric_crs).to_crs(WGS84)
    out = [
        Label(
            code=code,
            text=name,
            lat=round(float(ll.y), 5),
            lon=round(float(ll.x), 5),
            min_zoom=label_min_zoom(name, radius, float(ll.y)),
            priority=round(area / 1e4, 1),
        )
        for (code, name, _, radius, area), ll in zip(labels, lonlat, strict=True)
    ]
    return tuple(sorted(out, key=lambda label: -label.priority))
