"""The folium map of the quartiers: layers, styles, legend, and its st_folium plumbing.

The map is two parts:

- :func:`build_map` draws what a selection shows (the territory's outline, its communes, the
  selected quartiers, the legend) and fits the view to the selection. Its GeoJSON layers are
  built once per generation and kept for the process (:func:`_layers`): a rerun only filters
  features and renders.
- :func:`focus_layer` outlines the quartier whose panel is open, and optionally its
  counterpart in the other generation. It goes to ``st_folium(feature_group_to_add=...)``, which
  adds it to the map in the browser without reloading it: opening a panel keeps the zoom.

Every text that reaches the map's HTML (tooltips, legend) is escaped here.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import folium
import pandas as pd
import shapely
import streamlit as st
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template
from streamlit_folium import st_folium

from geo.format import fr_int, fr_percent
from geo.selection import status_label
from geo.store import Dataset
from geo.territory import STATUS_NEIGHBOURING
from ui.leaflet import add_layer_control, make_map
from ui.memory import keep_for_process

MAP_KEY = "carte_map"
MAP_HEIGHT = 560
COORDINATE_GRID_DEG = 1e-5  # about 1 m: finer than the display geometry's own accuracy
KIND_QPV = "qpv"
KIND_COMMUNE = "commune"
# CSS classes of the shapes (SVG paths): ``qpv-quartier qpv-quartier-QP062025``,
# ``qpv-commune qpv-commune-62498``; tests and styles can find a shape by its code.
CLASS_QPV = "qpv-quartier"
CLASS_COMMUNE = "qpv-commune"


@dataclass(frozen=True)
class LineStyle:
    """How one kind of quartier is drawn, and how the legend names it."""

    label: str
    color: str
    dash: str | None  # SVG dash pattern: status is never told by colour alone
    fill_opacity: float
    weight: float = 2.5


# Colours told apart with the common colour-vision deficiencies (Okabe-Ito vermillion, a dark
# reddish purple, grey), and each kind has its own dash pattern as well.
CONTRACT = LineStyle("Quartier du contrat de ville", "#D55E00", None, 0.45)
SHARED = LineStyle("Quartier partagé avec un autre EPCI", "#8E3B8E", "9 5", 0.35)
NEIGHBOURING = LineStyle("Quartier voisin (hors contrat de ville)", "#4D4D4D", "2 5", 0.12)
DATA_ATTRIBUTION = "Quartiers : ANCT, Insee · Communes : IGN, Insee"
TERRITORY_COLOR = "#000091"
COMMUNE_COLOR = "#6A6A6A"
FOCUS_COLOR = "#161616"
COUNTERPART_COLOR = "#0072B2"


@dataclass(frozen=True)
class ShareClass:
    """One class of the choropleth: communes whose QPV share is in ``[low, high)``."""

    low: float
    high: float | None
    color: str
    label: str


# ColorBrewer YlGnBu (colour-blind safe, sequential); classes in plain words for the legend.
CHOROPLETH = (
    ShareClass(0.0, 15.0, "#c7e9b4", "moins de 15 %"),
    ShareClass(15.0, 25.0, "#7fcdbb", "de 15 à 25 %"),
    ShareClass(25.0, 35.0, "#1d91c0", "de 25 à 35 %"),
    ShareClass(35.0, None, "#0c2c84", "35 % et plus"),
)
NO_QPV_FILL = "#FFFFFF"
# The open quartier: a dark line over a white halo, visible on any background.
_HALO = {"color": "#FFFFFF", "weight": 7, "opacity": 0.9, "fill": False}
_FOCUS = {"color": FOCUS_COLOR, "weight": 3.5, "fill": False}
_COUNTERPART = {"color": COUNTERPART_COLOR, "weight": 3.5, "dashArray": "10 6", "fill": False}


def line_style(status: str, shared: bool) -> LineStyle:
    """The style of a quartier from its status (``contrat``/``voisin``) and sharing."""
    if status == STATUS_NEIGHBOURING:
        return NEIGHBOURING
    return SHARED if shared else CONTRACT


def share_class(share_pct: float | None) -> ShareClass | None:
    """The choropleth class of a commune's QPV share; None when it has no quartier."""
    if share_pct is None or pd.isna(share_pct) or share_pct <= 0:
        return None
    for candidate in CHOROPLETH:
        if candidate.low <= share_pct and (candidate.high is None or share_pct < candidate.high):
            return candidate
    raise AssertionError("the last class is open-ended")


# ---------------------------------------------------------------------------------------------
# Map


def build_map(
    dataset: Dataset,
    *,
    generation: int,
    codes: Sequence[str],
    choropleth: bool = False,
    basemap: str | None = None,
) -> folium.Map:
    """The map of one selection.

    Parameters
    ----------
    dataset
        The territory's tables.
    generation
        2015 or 2024: which perimeters and which commune figures.
    codes
        Quartiers to draw (their order does not matter); the view fits them, or the whole
        territory when there are none.
    choropleth
        Colour the communes by the share of their population living in a quartier.
    basemap
        Key of the background shown first (``ui.leaflet.BASEMAPS``); default from the
        environment.
    """
    layers = _layers(dataset.siren, _fingerprint(dataset), generation, _dataset=dataset)
    wanted = set(codes)
    shown = [code for code in layers.quartier_json if code in wanted]
    bounds = _union([layers.quartier_bounds[c] for c in shown]) or layers.territory_bounds

    (south, west), (north, east) = bounds
    m = make_map(
        basemap=basemap,
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=11,
    )
    GeoJsonLayer(
        layers.communes_choropleth_json if choropleth else layers.communes_json,
        layers.territory_bounds,
        name="Communes",
        attribution=html.escape(DATA_ATTRIBUTION),
    ).add_to(m)
    GeoJsonLayer(
        layers.territory_json,
        layers.territory_bounds,
        name=f"Limite du territoire ({html.escape(dataset.territory_name)})",
        tooltips=False,
        interactive=False,
    ).add_to(m)
    if shown:
        GeoJsonLayer(
            _collection_json(layers.quartier_json[c] for c in shown),
            bounds,
            name="Quartiers prioritaires",
        ).add_to(m)
    present = {layers.quartier_style[c] for c in shown}
    styles = [style for style in (CONTRACT, SHARED, NEIGHBOURING) if style in present]
    legends = {"bottomright": legend_html(dataset.territory_name, styles)}
    if choropleth:
        legends["bottomleft"] = choropleth_legend_html()
    _Controls(legends).add_to(m)
    # Keep the selection clear of the legends, which sit in the bottom corners.
    legend_rows = max(len(styles) + 1, len(CHOROPLETH) + 3 if choropleth else 0)
    m.fit_bounds(
        bounds, padding_top_left=(12, 12), padding_bottom_right=(12, 20 + 17 * legend_rows)
    )
    add_layer_control(m)
    return m


def focus_layer(
    dataset: Dataset, code: str, *, counterpart: str | None = None
) -> folium.FeatureGroup:
    """Outline of the quartier ``code`` (thick, dark) and of ``counterpart`` (blue, dashed).

    Neither catches clicks: the quartiers underneath still open their panels.
    """
    group = folium.FeatureGroup(name="Quartier choisi", control=False)
    display = dataset.qpv_display.set_index("code").geometry
    shapes = [(code, _HALO), (code, _FOCUS)]
    if counterpart:
        shapes.append((counterpart, _COUNTERPART))
    for shape_code, style in shapes:
        if shape_code not in display.index:
            continue
        geometry = shapely.set_precision(display[shape_code], COORDINATE_GRID_DEG)
        folium.GeoJson(
            {"type": "Feature", "properties": {}, "geometry": geometry.__geo_interface__},
            style_function=lambda _f, style=style: style,
            interactive=False,
        ).add_to(group)
    return group


def show_map(
    m: folium.Map,
    *,
    focus: folium.FeatureGroup | None = None,
    on_select: Callable[[str, str], None],
    key: str = MAP_KEY,
) -> None:
    """Display ``m``; a click on a quartier or a commune calls ``on_select(kind, code)``.

    Only clicks come back to Python: the clicked feature, and where it was clicked so that a
    second click on the same shape is news too. Panning and zooming never rerun the page; nor
    does opening it (the click counter would, its first value differing from st_folium's
    default). ``kind`` is :data:`KIND_QPV` or :data:`KIND_COMMUNE`.
    """

    def clicked() -> None:
        value = st.session_state.get(key) or {}
        feature = value.get("last_active_drawing") or {}
        properties = feature.get("properties") or {}
        if properties.get("kind") in (KIND_QPV, KIND_COMMUNE) and properties.get("code"):
            on_select(properties["kind"], properties["code"])

    st_folium(
        m,
        key=key,
        height=MAP_HEIGHT,
        use_container_width=True,
        returned_objects=["last_active_drawing", "last_object_clicked"],
        feature_group_to_add=focus,
        on_change=clicked,
        render=False,  # st_folium renders the map itself once more: rendering twice was wasted
    )


def legend_html(territory_name: str, styles: Iterable[LineStyle]) -> str:
    """The map's legend: the territory's outline, then each kind of quartier in ``styles``."""
    territory = f"Limite du territoire ({territory_name})"
    rows = [_line_swatch(TERRITORY_COLOR, None, 0.0, territory, 3)]
    rows += [_line_swatch(s.color, s.dash, s.fill_opacity, s.label) for s in styles]
    return _box(rows)


def choropleth_legend_html() -> str:
    """The legend of the communes' colours (share of their population living in a quartier)."""
    rows = [
        '<div style="font-weight:600;margin-bottom:2px">Habitants de la commune<br>'
        "en quartier prioritaire</div>"
    ]
    classes = [(NO_QPV_FILL, "aucun quartier"), *((c.color, c.label) for c in CHOROPLETH)]
    rows += [_fill_swatch(color, label) for color, label in classes]
    return _box(rows)


def _box(rows: Sequence[str]) -> str:
    return (
        '<div style="background:#fff;padding:6px 9px;border:1px solid #929292;'
        'border-radius:4px;font:12px/1.25 sans-serif;color:#161616">' + "".join(rows) + "</div>"
    )


# ---------------------------------------------------------------------------------------------
# Layers, built once per generation


@dataclass(frozen=True)
class _Layers:
    """One generation's layers as GeoJSON text; bounds are ``[[south, west], [north, east]]``."""

    quartier_json: dict[str, str]  # code -> one Feature, in table order
    quartier_style: dict[str, LineStyle]
    quartier_bounds: dict[str, list[list[float]]]
    communes_json: str  # FeatureCollection
    communes_choropleth_json: str
    territory_json: str
    territory_bounds: list[list[float]]


def _fingerprint(dataset: Dataset) -> str:
    """What identifies a build of the tables (their sources and schema), to key caches."""
    return hashlib.sha256(json.dumps(dataset.manifest, sort_keys=True).encode()).hexdigest()


@st.cache_resource(show_spinner=False, max_entries=8)
def _layers(siren: str, fingerprint: str, generation: int, *, _dataset: Dataset) -> _Layers:
    """Serialise the layers of one generation (cached per build of a territory's tables)."""
    dataset = _dataset
    qpv = dataset.qpv_of(generation).drop(columns="geometry")
    display = dataset.qpv_display[dataset.qpv_display["generation"] == generation]
    qpv = qpv.merge(display[["code", "geometry"]], on="code", validate="one_to_one")
    quartier_json, quartier_style, quartier_bounds = {}, {}, {}
    for row in qpv.itertuples():
        quartier_json[row.code] = _dumps(_quartier_feature(row))
        quartier_style[row.code] = line_style(row.status, bool(row.shared))
        quartier_bounds[row.code] = _bounds_of(row.geometry)

    communes = dataset.communes
    plain, coloured = [], []
    for code, name, geometry, n, share, estimated in zip(
        communes["code"],
        communes["name"],
        communes.geometry,
        communes[f"n_qpv_{generation}"],
        communes[f"share_qpv_{generation}"],
        communes[f"pop_qpv_{generation}_estimated"],
        strict=True,
    ):
        share = share if n else None
        tooltip = _commune_tooltip(name, int(n), share, bool(estimated), generation)
        base = {"kind": KIND_COMMUNE, "code": code, "tooltip": tooltip}
        shape = _geometry(geometry)
        plain.append(_feature(code, shape, {**base, "style": _commune_style(code, None)}))
        fill = _commune_style(code, share_class(share))
        coloured.append(_feature(code, shape, {**base, "style": fill}))

    outline = dataset.territory.to_crs(4326).geometry.iloc[0]
    territory = _feature(dataset.siren, _geometry(outline), {"style": _territory_style()})
    layers = _Layers(
        quartier_json=quartier_json,
        quartier_style=quartier_style,
        quartier_bounds=quartier_bounds,
        communes_json=_collection_json(_dumps(f) for f in plain),
        communes_choropleth_json=_collection_json(_dumps(f) for f in coloured),
        territory_json=_collection_json([_dumps(territory)]),
        territory_bounds=_bounds_of(outline),
    )
    return keep_for_process(layers)


def _quartier_feature(row) -> dict:
    style = line_style(row.status, bool(row.shared))
    year = f" en {row.population_year}" if pd.notna(row.population_year) else ""
    tooltip = (
        f"<strong>{html.escape(row.name)}</strong> ({html.escape(row.code)})<br>"
        f"{html.escape(status_label(row.status, bool(row.shared)))}<br>"
        f"{html.escape(row.commune_names)}<br>"
        f"{fr_int(row.population)} habitants{year}<br>"
        "<em>Cliquer pour ouvrir la fiche</em>"
    )
    return _feature(
        row.code,
        _geometry(row.geometry),
        {
            "kind": KIND_QPV,
            "code": row.code,
            "tooltip": tooltip,
            "style": {
                "className": f"{CLASS_QPV} {CLASS_QPV}-{row.code}",
                "color": style.color,
                "weight": style.weight,
                "dashArray": style.dash,
                "fillColor": style.color,
                "fillOpacity": style.fill_opacity,
            },
        },
    )


def _commune_tooltip(
    name: str, n: int, share: float | None, estimated: bool, generation: int
) -> str:
    text = f"<strong>{html.escape(name)}</strong><br>"
    if not n:
        return text + f"Aucun quartier prioritaire ({generation})"
    text += f"{n} quartier{'s' if n > 1 else ''} prioritaire{'s' if n > 1 else ''} ({generation})"
    if share is not None:
        about = "environ " if estimated else ""
        text += f"<br>{about}{fr_percent(share)} des habitants en quartier prioritaire"
    return text + "<br><em>Cliquer pour la fiche de la commune</em>"


def _commune_style(code: str, fill: ShareClass | None) -> dict:
    return {
        "className": f"{CLASS_COMMUNE} {CLASS_COMMUNE}-{code}",
        "color": COMMUNE_COLOR,
        "weight": 1,
        "fillColor": fill.color if fill else NO_QPV_FILL,
        "fillOpacity": 0.7 if fill else 0.05,
    }


def _territory_style() -> dict:
    return {"color": TERRITORY_COLOR, "weight": 3, "fill": False}


def _geometry(geometry) -> dict:
    return shapely.set_precision(geometry, COORDINATE_GRID_DEG).__geo_interface__


def _feature(code: str, geometry: dict, properties: dict) -> dict:
    return {"type": "Feature", "id": code, "properties": properties, "geometry": geometry}


def _dumps(feature: dict) -> str:
    """JSON safe to embed in a <script>: ``<``, ``>`` and ``&`` escaped as Jinja's tojson does."""
    text = json.dumps(feature, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _collection_json(features_json: Iterable[str]) -> str:
    return '{"type": "FeatureCollection", "features": [' + ", ".join(features_json) + "]}"


def _bounds_of(geometry) -> list[list[float]]:
    west, south, east, north = (float(v) for v in geometry.bounds)
    return [[south, west], [north, east]]


def _union(bounds: Sequence[list[list[float]]]) -> list[list[float]] | None:
    if not bounds:
        return None
    return [
        [min(b[0][0] for b in bounds), min(b[0][1] for b in bounds)],
        [max(b[1][0] for b in bounds), max(b[1][1] for b in bounds)],
    ]


class GeoJsonLayer(Layer):
    """A GeoJSON overlay given as JSON text, styled and labelled by its features' properties.

    Each feature carries ``properties.style`` (a Leaflet path style) and, unless
    ``tooltips=False``, ``properties.tooltip`` (HTML, already escaped). Extra keyword arguments
    are Leaflet GeoJSON options (``className``, ``interactive``...).

    Why not ``folium.GeoJson``: it re-serialises its data and walks every coordinate for the
    bounds at each render, and branca compiles each rendered script as a Jinja template; with
    100 KB of coordinates that was most of a page rerun. This layer takes cached JSON text and
    known bounds, and adds its script as plain text.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_json }}, {
            style: function (feature) { return feature.properties.style; },
            ...{{ this.options|tojavascript }}
        });
        {%- if this.tooltips %}
        {{ this.get_name() }}.bindTooltip(function (layer) {
            return layer.feature.properties.tooltip;
        }, {sticky: true});
        {%- endif %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data_json: str,
        bounds: list[list[float]],
        *,
        name: str,
        tooltips: bool = True,
        **options,
    ):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "GeoJsonLayer"
        self.data_json = data_json
        self.bounds = bounds
        self.tooltips = tooltips
        self.options = options

    def _get_self_bounds(self) -> list[list[float]]:
        return self.bounds

    def render(self, **kwargs) -> None:
        script = self._template.module.script(self, kwargs)
        self.get_root().script.add_child(_Text(script), name=self.get_name())


class _Text(Element):
    """Text added to a figure as is (branca's ``Element(text)`` compiles it as a template)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


# ---------------------------------------------------------------------------------------------
# Legend


class _Controls(MacroElement):
    """Click-safe focus, a metric scale and the legends (Leaflet only, no other library).

    ``legends`` maps a Leaflet corner (``"bottomright"``...) to pre-escaped HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            // Leaflet 1.9 focuses the map on mousedown (for its keyboard controls) with a
            // plain focus(): when the map is partly off screen the browser scrolls the page
            // between mousedown and mouseup, and the click lands elsewhere. Same focus,
            // without the scroll.
            if (!map.keyboard) { return; }
            map.keyboard.disable();
            map.keyboard._onMouseDown = function () {
                if (!this._focused) { this._map._container.focus({preventScroll: true}); }
            };
            map.keyboard.enable();
        })({{ this._parent.get_name() }});
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {%- for position, content in this.legends.items() %}
        (function () {
            var legend = L.control({position: {{ position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "qpv-legend");
                div.innerHTML = {{ content|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {%- endfor %}
        {% endmacro %}
        """
    )

    def __init__(self, legends: dict[str, str]):
        super().__init__()
        self._name = "Controls"
        self.legends = legends


def _line_swatch(color: str, dash: str | None, fill_opacity: float, label: str, weight=2.5):
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        '<div style="display:flex;align-items:center;gap:6px;margin:1px 0">'
        f'<svg width="28" height="14" aria-hidden="true"><rect x="2" y="2" width="24" height="10"'
        f' fill="{color}" fill-opacity="{fill_opacity}" stroke="{color}"'
        f' stroke-width="{weight}"{dash_attr}/></svg>'
        f"<span>{html.escape(label)}</span></div>"
    )


def _fill_swatch(color: str, label: str) -> str:
    return (
        '<div style="display:flex;align-items:center;gap:6px;margin:1px 0">'
        f'<svg width="28" height="14" aria-hidden="true"><rect x="2" y="2" width="24" height="10"'
        f' fill="{color}" stroke="{COMMUNE_COLOR}" stroke-width="1"/></svg>'
        f"<span>{html.escape(label)}</span></div>"
    )
