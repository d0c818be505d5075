"""The Leaflet map component: a Streamlit component (components v2) without iframe.

The map lives in the page itself (in a shadow root, ``isolate_styles``), with Leaflet vendored
in ``static/vendor/`` and served by the app (``server.enableStaticServing``): nothing comes from
a CDN. Its front end is ``static/qpv-map/map.js``: it creates the Leaflet map once and,
when the script sends new data, updates the layers, legends and view in place. Each layer
carries a ``key`` (a digest of its GeoJSON): an unchanged layer is neither parsed again nor
redrawn; the view is applied only when its own key changes, so opening a panel keeps the zoom.

What goes to the browser is data (JSON), never JavaScript: :class:`MapSpec` says what to draw,
:func:`show_map` sends it and brings back clicks, the only event that reruns the script.
Every text that the browser writes as HTML (layer names, tooltips, legends, labels) is escaped
by the module that builds it (``ui.mapview``, ``ui.lookup``, ``ui.adresse``).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import streamlit as st

LEAFLET_VERSION = "1.9.3"
"""The Leaflet release vendored in ``static/vendor/``."""

STATIC_PATH = f"app/static/vendor/leaflet-{LEAFLET_VERSION}"
"""Where Streamlit serves the vendored Leaflet, under the server's base URL path."""

COMPONENT_NAME = "qpv_leaflet_map"
FRONT_END = Path(__file__).resolve().parent.parent / "static" / "qpv-map"
"""The component's front end, served by the app beside Leaflet (``app/static/qpv-map/``)."""
FRONT_END_PATH = "app/static/qpv-map"

BASEMAP_ENV_VAR = "QPV_BASEMAP"
"""Environment variable choosing the basemap shown first (tests use ``aucun``: no tiles)."""

DEFAULT_HEIGHT = "560px"
FOLD_LEGENDS_BELOW_PX = 520
"""Below this map width the legends start folded: on a phone they would hide the map."""
ZOOM_RANGE = (8, 19)
PANES = ("communes", "territory", "quartiers", "focus", "points")
"""Layer panes, bottom to top (a replaced layer keeps its place)."""

SENT_KEY = "_qpv_map_layers_sent"
"""Session state: keys of the kept layers this session's browser has received."""
MAX_LAYERS = 64  # of a map; what the browser reports missing is cut to it

Clicks = Literal["feature", "point"] | None
Bounds = tuple[tuple[float, float], tuple[float, float]]
"""``((south, west), (north, east))`` in degrees."""

CONTROL_TEXT = {
    "zoomIn": "Zoom avant",
    "zoomOut": "Zoom arrière",
    "layers": "Fonds de carte et couches",
    "mapLabel": "Carte interactive (flèches du clavier pour la déplacer, + et − pour zoomer)",
    "loadError": "La carte n'a pas pu être chargée : rechargez la page.",
    # Leaflet's own prefix, with its English title and a flag, replaced by a French title.
    "attributionPrefix": (
        '<a href="https://leafletjs.com" title="Bibliothèque JavaScript de cartes interactives">'
        "Leaflet</a>"
    ),
}
"""Leaflet's English strings, in French (the front end writes no text of its own)."""


@dataclass(frozen=True)
class Basemap:
    """A background the user can pick in the layer control.

    ``tiles`` is a Leaflet URL template, or None for the empty background.
    """

    key: str
    name: str
    tiles: str | None = None
    attribution: str = ""
    max_zoom: int = 19


PLAN_IGN = Basemap(
    key="plan_ign",
    name="Plan IGN",
    tiles=(
        "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM"
        "&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
    ),
    attribution="© IGN – Géoplateforme",
)
OSM = Basemap(
    key="osm",
    name="OpenStreetMap",
    tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    attribution=(
        '© <a href="https://www.openstreetmap.org/copyright">les contributeurs d’OpenStreetMap</a>'
    ),
)
NO_BASEMAP = Basemap(key="aucun", name="Sans fond de carte")

BASEMAPS = (PLAN_IGN, OSM, NO_BASEMAP)
"""Every background, in the order of the layer control."""

DEFAULT_BASEMAP = PLAN_IGN.key


def default_basemap() -> str:
    """Return the key of the basemap shown first: ``$QPV_BASEMAP`` or ``DEFAULT_BASEMAP``."""
    key = os.environ.get(BASEMAP_ENV_VAR, "").strip() or DEFAULT_BASEMAP
    return get_basemap(key).key


def get_basemap(key: str) -> Basemap:
    """Return the basemap named by ``key`` (``plan_ign``, ``osm`` or ``aucun``)."""
    for basemap in BASEMAPS:
        if basemap.key == key:
            return basemap
    known = ", ".join(b.key for b in BASEMAPS)
    raise ValueError(f"unknown basemap {key!r}, expected one of: {known}")


# ---------------------------------------------------------------------------------------------
# What a map shows


@dataclass(frozen=True)
class Layer:
    """One layer of the map: a GeoJSON FeatureCollection (text) and how to draw it.

    Each feature carries ``properties.style`` (Leaflet path options) and, for tooltips,
    ``properties.tooltip`` (HTML, already escaped). A Point feature is a circle marker (radius
    in pixels in its style), or a circle of ``properties.radius_m`` metres.

    Parameters
    ----------
    id
        The layer's place on the map (``"communes"``, ``"focus"``...): a new layer with the same
        id replaces the old one.
    geojson
        The FeatureCollection as JSON text; its digest is the layer's ``key``.
    pane
        One of :data:`PANES`.
    name
        HTML (escaped) naming the layer in the layer control; None keeps it out.
    only
        Ids of the features to draw (None: all); the text stays the same, so the browser
        does not read it again.
    click_kind
        Clicking a feature sends ``{"kind": click_kind, "code": feature id}`` (maps with
        ``clicks="feature"``); None: the layer's features are not clicked.
    feature_ids
        The features' ids (what a click may name).
    bounds
        Where the features are, for a view that fits them.
    kept
        A layer that stays the same for the process (the territory's): its GeoJSON goes to
        a browser once per session, then its key alone (:func:`show_map`).
    """

    id: str
    geojson: str
    pane: str
    name: str | None = None
    only: tuple[str, ...] | None = None
    tooltips: bool = True
    interactive: bool = True
    click_kind: str | None = None
    feature_ids: frozenset[str] = frozenset()
    attribution: str | None = None
    bounds: Bounds | None = None
    kept: bool = False
    key: str = ""

    def __post_init__(self) -> None:
        if self.pane not in PANES:
            raise ValueError(f"unknown pane {self.pane!r}, expected one of: {', '.join(PANES)}")
        if not self.key:
            digest = hashlib.blake2b(self.geojson.encode(), digest_size=12).hexdigest()
            object.__setattr__(self, "key", f"{self.id}-{digest}")

    def showing(self, codes: Sequence[str]) -> Layer:
        """The same layer drawing only the features ``codes``."""
        return replace(self, only=tuple(codes))

    def clickable_ids(self) -> frozenset[str]:
        """Ids a click on this layer may name: its features drawn."""
        if self.click_kind is None:
            return frozenset()
        return self.feature_ids if self.only is None else self.feature_ids & set(self.only)

    def payload(self, *, with_geojson: bool = True) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "kept": self.kept,
            "geojson": self.geojson if with_geojson or not self.kept else None,
            "pane": self.pane,
            "name": self.name,
            "only": list(self.only) if self.only is not None else None,
            "tooltips": self.tooltips,
            "interactive": self.interactive,
            "clickable": self.click_kind is not None,
            "attribution": self.attribution,
        }


@dataclass(frozen=True)
class View:
    """Where the map looks: bounds to fit (with padding in pixels), or a centre and a zoom.

    The browser applies a view only when it differs from the last one it applied: the user's
    pan and zoom stay until the page asks for another place.
    """

    bounds: Bounds | None = None
    padding_top_left: tuple[int, int] = (12, 12)
    padding_bottom_right: tuple[int, int] = (12, 12)
    centre: tuple[float, float] | None = None
    zoom: int | None = None
    max_zoom: int | None = None

    @classmethod
    def fit(cls, bounds: Bounds, **padding) -> View:
        return cls(bounds=bounds, **padding)

    @classmethod
    def at(cls, lat: float, lon: float, zoom: int) -> View:
        return cls(centre=(lat, lon), zoom=zoom)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any]
        if self.bounds is not None:
            data = {
                "bounds": [list(self.bounds[0]), list(self.bounds[1])],
                "paddingTopLeft": list(self.padding_top_left),
                "paddingBottomRight": list(self.padding_bottom_right),
                "maxZoom": self.max_zoom,
            }
        else:
            data = {"center": list(self.centre), "zoom": self.zoom}
        data["key"] = repr(sorted(data.items()))
        return data


@dataclass(frozen=True)
class Legend:
    """A legend in a corner of the map (``"bottomright"``...): escaped HTML, a ``<details>``."""

    position: str
    html: str


@dataclass(frozen=True)
class Labels:
    """Names written on the map from a zoom level on: ``(code, text, lat, lon, min zoom)``.

    ``code`` and ``text`` are escaped HTML; names come in priority order (the first placed
    wins when two would overlap).
    """

    items: tuple[tuple[str, str, float, float, int], ...]
    class_name: str
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            digest = hashlib.blake2b(repr(self.items).encode(), digest_size=12).hexdigest()
            object.__setattr__(self, "key", f"labels-{digest}")

    def payload(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "items": [list(i) for i in self.items],
            "className": self.class_name,
        }


@dataclass(frozen=True)
class MapSpec:
    """Everything one map shows: layers (bottom to top within a pane), view, legends, names.

    ``css`` styles what the layers and legends write (their classes), inside the map.
    """

    layers: tuple[Layer, ...]
    view: View
    legends: tuple[Legend, ...] = ()
    labels: Labels | None = None
    css: str = ""

    def adding(self, *layers: Layer | None) -> MapSpec:
        """This map with more layers (None ignored)."""
        return replace(self, layers=self.layers + tuple(layer for layer in layers if layer))

    def viewing(self, view: View) -> MapSpec:
        """This map looking at ``view``."""
        return replace(self, view=view)


# ---------------------------------------------------------------------------------------------
# The component


@functools.cache
def _component():
    # Registered on first use, not at import: importing ui.leaflet stays free of Streamlit's
    # runtime (tests of the payload, the benchmarks). The inline code is a loader of a few
    # lines: the map's module is a static file, fetched once and cached by the browser, not
    # sent again with every message.
    return st.components.v2.component(
        COMPONENT_NAME,
        js=(FRONT_END / "loader.js").read_text("utf-8"),
        css=(FRONT_END / "map.css").read_text("utf-8"),
        isolate_styles=True,
    )


def _served(path: str) -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(part for part in (base, path) if part)


def leaflet_url() -> str:
    """URL path of the vendored Leaflet, under the server's ``server.baseUrlPath``."""
    return _served(STATIC_PATH)


@functools.cache
def _module_version() -> str:
    # In the module's URL: a browser never runs an older map.js from its cache.
    return hashlib.blake2b((FRONT_END / "map.js").read_bytes(), digest_size=6).hexdigest()


def module_url() -> str:
    """URL path of the map's front-end module (versioned by its content)."""
    return f"{_served(FRONT_END_PATH)}/map.js?v={_module_version()}"


@functools.cache
def _static_payload(leaflet: str, module: str, basemap: str) -> dict[str, Any]:
    """What every map sends whatever it shows (built once per process)."""
    return {
        "leaflet": leaflet,
        "module": module,
        "basemap": basemap,
        "basemaps": [
            {
                "key": b.key,
                "name": b.name,
                "tiles": b.tiles,
                "attribution": b.attribution,
                "maxZoom": b.max_zoom,
            }
            for b in BASEMAPS
        ],
        "strings": CONTROL_TEXT,
        "foldLegendsBelow": FOLD_LEGENDS_BELOW_PX,
        "minZoom": ZOOM_RANGE[0],
        "maxZoom": ZOOM_RANGE[1],
    }


def payload(
    spec: MapSpec,
    *,
    height: str = DEFAULT_HEIGHT,
    clicks: Clicks = None,
    sent: Set[str] = frozenset(),
    report_drawn: bool = False,
) -> dict:
    """The data the component receives for ``spec`` (JSON-ready).

    ``height`` is a CSS length (``"560px"``, ``"max(300px, calc(100vh - 262px))"``); the kept
    layers whose keys are in ``sent`` go without their GeoJSON (the browser has it);
    ``report_drawn``: the browser says when the map is drawn (or could not be).
    """
    return {
        **_static_payload(leaflet_url(), module_url(), default_basemap()),
        "height": height,
        "clicks": clicks,
        "reportDrawn": report_drawn,
        "css": spec.css,
        "layers": [layer.payload(with_geojson=layer.key not in sent) for layer in spec.layers],
        "legends": [{"position": legend.position, "html": legend.html} for legend in spec.legends],
        "labels": spec.labels.payload() if spec.labels else None,
        "view": spec.view.payload(),
    }


def show_map(
    spec: MapSpec,
    *,
    key: str,
    height: str = DEFAULT_HEIGHT,
    clicks: Clicks = None,
    on_click: Callable[[dict], None] | None = None,
    on_drawn: Callable[[], None] | None = None,
) -> None:
    """Display ``spec``; a click calls ``on_click(value)`` before the script reruns.

    With ``on_drawn``, the browser reruns the script once it has drawn this map (or found that
    it cannot), calling ``on_drawn()`` first: a page can show its map before its other content.

    ``clicks="feature"``: a click on a feature of a layer with a ``click_kind`` sends
    ``{"kind", "code"}``; ``clicks="point"``: a click anywhere sends ``{"lat", "lng"}``. What
    the browser sends is checked first (:func:`checked_click`): anything else is ignored.
    Panning and zooming never rerun the script.

    The layers that stay the same (``Layer.kept``) go to the browser once per session: the
    session remembers their keys, the front end keeps their features for the page's life. If
    it lacks one all the same (the message never arrived), it says so (``missing``) and the
    next run sends it again.
    """
    sent = st.session_state.setdefault(SENT_KEY, set())

    def clicked() -> None:
        value = (st.session_state.get(key) or {}).get("click")
        checked = checked_click(spec, clicks, value)
        if checked is not None and on_click is not None:
            on_click(checked)

    def missing() -> None:
        keys = (st.session_state.get(key) or {}).get("missing")
        if isinstance(keys, list):
            sent.difference_update(k for k in keys[:MAX_LAYERS] if isinstance(k, str))

    callbacks = {"on_missing_change": missing}
    if clicks and on_click:
        callbacks["on_click_change"] = clicked
    if on_drawn:
        callbacks["on_drawn_change"] = on_drawn
    # One key: Streamlit looks for data frames among the top-level values, one by one.
    drawn = on_drawn is not None
    data = {"map": payload(spec, height=height, clicks=clicks, sent=sent, report_drawn=drawn)}
    _component()(key=key, data=data, **callbacks)
    sent.update(layer.key for layer in spec.layers if layer.kept)


def checked_click(spec: MapSpec, clicks: Clicks, value: object) -> dict | None:
    """A click the browser sent, if it names what the map shows; else None.

    A feature click must name a feature drawn by a clickable layer of that kind; a point
    click, a finite latitude and longitude.
    """
    if not isinstance(value, dict):
        return None
    if clicks == "feature":
        kind, code = value.get("kind"), value.get("code")
        for layer in spec.layers:
            named = isinstance(code, str) and code in layer.clickable_ids()
            if named and layer.click_kind == kind:
                return {"kind": kind, "code": code}
        return None
    if clicks == "point":
        lat, lng = value.get("lat"), value.get("lng")
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lng))
        if numbers and math.isfinite(lat) and math.isfinite(lng):
            on_earth = abs(lat) <= 90 and abs(lng) <= 180
            return {"lat": float(lat), "lng": float(lng)} if on_earth else None
    return None
