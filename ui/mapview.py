"""The folium map of the quartiers: layers, styles, legend, and its st_folium plumbing.

The map is two parts:

- :func:`build_map` draws what a selection shows (the territory's outline, its communes, the
  selected quartiers, the legend) and fits the view to the selection. Its GeoJSON layers are
  built once per generation and kept for the process (:func:`_layers`): a rerun only filters
  features and renders.
- :func:`focus_layer` draws the quartier whose panel is open, and optionally its
  counterpart in the other generation. It goes to ``st_folium(feature_group_to_add=...)``, which
  adds it to the map in the browser without reloading it: opening a panel keeps the zoom.

Colours, line styles and legend labels come from ``geo.style`` (shared with the PNG and PDF
maps); what is here is their Leaflet form. Every text that reaches the map's HTML (tooltips,
legend, commune names) is escaped here.
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

from geo import style
from geo.format import fr_int, fr_percent
from geo.quartier import status_label
from geo.store import Dataset
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
CLASS_TERRITORY = "qpv-territoire"
CLASS_LABEL = "qpv-commune-label"
CLASS_LEGEND = "qpv-legend"
DATA_ATTRIBUTION = "Quartiers : ANCT, Insee · Communes : IGN, Insee"
# Below this map width (px) the legends start folded: on a phone they would hide the map.
FOLDED_LEGEND_BELOW_PX = 520


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


def path_style(kind: style.Kind, *, fill: bool = True) -> dict:
    """Leaflet path options drawing ``kind`` (see ``geo.style``)."""
    options = {"color": kind.stroke, "weight": kind.width, "opacity": 1.0}
    if kind.dash_svg:
        options["dashArray"] = kind.dash_svg
    if fill and kind.fill:
        options |= {"fillColor": kind.fill, "fillOpacity": kind.fill_opacity}
    else:
        options["fill"] = False
    return options


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
    legend_selected: bool = True,
    fill_frame: bool = False,
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
    legend_selected
        List the selected quartier's style in the legend. The map page always does: a panel
        opens without rebuilding the map (:func:`focus_layer`), so its legend must already say
        what the outline means.
    fill_frame
        Let the page's CSS decide the map's height (the map fills its frame), instead of
        :data:`MAP_HEIGHT`.
    """
    layers = _layers(dataset.siren, fingerprint(dataset), generation, _dataset=dataset)
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
    present = [layers.quartier_style[c] for c in shown]
    kinds = style.legend_kinds(present, selected=legend_selected)
    legends = {"bottomright": legend_html(dataset.territory_name, kinds)}
    if choropleth:
        legends["bottomleft"] = choropleth_legend_html()
    _Controls(legends, layers.labels_json).add_to(m)
    m.get_root().header.add_child(_Text(_map_css(fill_frame=fill_frame)), name="qpv_map_css")
    # Keep the selection clear of the legends, which sit in the bottom corners.
    legend_rows = max(len(kinds) + 2, len(CHOROPLETH) + 3 if choropleth else 0)
    m.fit_bounds(
        bounds, padding_top_left=(12, 12), padding_bottom_right=(12, 20 + 17 * legend_rows)
    )
    add_layer_control(m)
    return m


def focus_layer(
    dataset: Dataset, code: str, *, counterpart: str | None = None
) -> folium.FeatureGroup:
    """The selected quartier ``code`` (``geo.style.SELECTED``) and its ``counterpart``.

    The counterpart, the same quartier in the other generation, is drawn as
    ``geo.style.COUNTERPART``. Neither catches clicks: the quartiers underneath still open
    their panels.
    """
    group = folium.FeatureGroup(name="Quartier choisi", control=False)
    display = dataset.qpv_display.set_index("code").geometry
    selected = style.SELECTED
    halo = {"color": style.PAPER, "weight": selected.halo, "opacity": 0.9, "fill": False}
    shapes = [(code, halo), (code, path_style(selected))]
    if counterpart:
        shapes.append((counterpart, path_style(style.COUNTERPART, fill=False)))
    for shape_code, options in shapes:
        if shape_code not in display.index:
            continue
        geometry = shapely.set_precision(display[shape_code], COORDINATE_GRID_DEG)
        folium.GeoJson(
            {"type": "Feature", "properties": {}, "geometry": geometry.__geo_interface__},
            style_function=lambda _f, options=options: options,
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


def legend_html(territory_name: str, kinds: Iterable[style.Kind]) -> str:
    """The map's legend, one row per kind (``geo.style.legend_kinds``), foldable.

    The territory's outline is named after the territory.
    """
    rows = []
    for kind in kinds:
        label = kind.label
        if kind is style.TERRITORY:
            label = f"{label} ({territory_name})"
        rows.append(_line_swatch(kind, label))
    return _box("Légende", rows)


def choropleth_legend_html() -> str:
    """The legend of the communes' colours (share of their population living in a quartier)."""
    classes = [(NO_QPV_FILL, "aucun quartier"), *((c.color, c.label) for c in CHOROPLETH)]
    rows = [_fill_swatch(color, label) for color, label in classes]
    return _box("Habitants de la commune en quartier prioritaire", rows)


def _box(title: str, rows: Sequence[str]) -> str:
    """A legend that folds: a native ``<details>``, opened and closed by keyboard too."""
    return (
        f'<details open class="{CLASS_LEGEND}"><summary>{html.escape(title)}</summary>'
        + "".join(rows)
        + "</details>"
    )


def _map_css(*, fill_frame: bool) -> str:
    """Styles of the legends and commune names (values from ``geo.style``)."""
    halo = style.PAPER
    css = f"""
    .{CLASS_LEGEND} {{ background: {style.PAPER}; padding: 5px 9px; border-radius: 4px;
      border: 1px solid {style.LEGEND_BORDER}; font: 12px/1.25 sans-serif; color: {style.TEXT};
      max-width: 270px; }}
    .{CLASS_LEGEND} summary {{ cursor: pointer; font-weight: 600; padding: 2px 0; }}
    .{CLASS_LEGEND} .qpv-legend-row {{ display: flex; align-items: center; gap: 6px;
      margin: 1px 0; }}
    .{CLASS_LABEL} span {{ position: absolute; left: 0; top: 0;
      transform: translate(-50%, -50%); white-space: nowrap; pointer-events: none;
      font: 600 {style.LABEL_FONT_PX}px/1.1 sans-serif; color: {style.MUTED_TEXT};
      text-shadow: -1px -1px 0 {halo}, 1px -1px 0 {halo}, -1px 1px 0 {halo}, 1px 1px 0 {halo},
      0 0 3px {halo}; }}
    .{CLASS_LABEL} {{ pointer-events: none; }}
    """
    if fill_frame:
        # st_folium sets the map's height in pixels; here the frame's height decides.
        css += "#map_div { height: 100vh !important; } body { margin: 0; overflow: hidden; }"
    return f"<style>{css}</style>"


# ---------------------------------------------------------------------------------------------
# Layers, built once per generation


@dataclass(frozen=True)
class _Layers:
    """One generation's layers as GeoJSON text; bounds are ``[[south, west], [north, east]]``."""

    quartier_json: dict[str, str]  # code -> one Feature, in table order
    quartier_style: dict[str, style.Kind]
    quartier_bounds: dict[str, list[list[float]]]
    communes_json: str  # FeatureCollection
    communes_choropleth_json: str
    territory_json: str
    territory_bounds: list[list[float]]
    labels_json: str  # the communes' names: [code, text (escaped), lat, lon, min zoom]


def fingerprint(dataset: Dataset) -> str:
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
        quartier_style[row.code] = style.quartier_kind(row.status, bool(row.shared))
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
    territory = _feature(
        dataset.siren,
        _geometry(outline),
        {"style": {"className": CLASS_TERRITORY, **path_style(style.TERRITORY, fill=False)}},
    )
    labels = [
        [html.escape(label.code), html.escape(label.text), label.lat, label.lon, label.min_zoom]
        for label in style.commune_labels(communes)
    ]
    layers = _Layers(
        quartier_json=quartier_json,
        quartier_style=quartier_style,
        quartier_bounds=quartier_bounds,
        communes_json=_collection_json(_dumps(f) for f in plain),
        communes_choropleth_json=_collection_json(_dumps(f) for f in coloured),
        territory_json=_collection_json([_dumps(territory)]),
        territory_bounds=_bounds_of(outline),
        labels_json=_dumps(labels),
    )
    return keep_for_process(layers)


def _quartier_feature(row) -> dict:
    kind = style.quartier_kind(row.status, bool(row.shared))
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
            "style": {"className": f"{CLASS_QPV} {CLASS_QPV}-{row.code}", **path_style(kind)},
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
    # Over map tiles the communes are only outlined (a faint fill keeps them clickable).
    return {
        "className": f"{CLASS_COMMUNE} {CLASS_COMMUNE}-{code}",
        **path_style(style.COMMUNE, fill=False),
        "fill": True,
        "fillColor": fill.color if fill else NO_QPV_FILL,
        "fillOpacity": 0.7 if fill else 0.05,
    }


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
# Controls: scale, legends, commune names


class _Controls(MacroElement):
    """Click-safe focus, a metric scale, the legends and the communes' names (Leaflet only).

    ``legends`` maps a Leaflet corner (``"bottomright"``...) to pre-escaped HTML;
    ``labels_json`` is ``_Layers.labels_json``. The scale goes in the bottom-right corner,
    where Leaflet stacks controls: it sits above the attribution, never under it, and the
    legend above both. The rules of where and when a name is written come from
    ``geo.style.commune_labels``; the script only hides a name that would overlap a larger
    commune's.
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
        L.control.scale({imperial: false, position: "bottomright"})
            .addTo({{ this._parent.get_name() }});
        {%- for position, content in this.legends.items() %}
        (function (map) {
            var legend = L.control({position: {{ position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "qpv-legend-control");
                div.innerHTML = {{ content|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo(map);
            if (map.getSize().x < {{ this.folded_below }}) {
                legend.getContainer().querySelector("details").open = false;
            }
        })({{ this._parent.get_name() }});
        {%- endfor %}
        (function (map, labels) {
            // A marker whose icon is the name, centred on its point by CSS: no measuring
            // before the style sheets have loaded, never a tab stop, never a click target.
            var names = labels.map(function (label) {
                var icon = L.divIcon({
                    className: {{ this.label_class|tojson }}, iconSize: null,
                    html: '<span data-code="' + label[0] + '">' + label[1] + "</span>"
                });
                var marker = L.marker([label[2], label[3]], {
                    icon: icon, interactive: false, keyboard: false
                });
                return {minZoom: label[4], marker: marker};
            });
            function apart(a, b) {
                return a.right + 3 < b.left || b.right + 3 < a.left ||
                    a.bottom + 1 < b.top || b.bottom + 1 < a.top;
            }
            function place() {
                var zoom = map.getZoom(), placed = [];
                names.forEach(function (name) {  // largest communes first
                    if (zoom < name.minZoom) { name.marker.remove(); return; }
                    if (!map.hasLayer(name.marker)) { name.marker.addTo(map); }
                    var box = name.marker.getElement().firstChild.getBoundingClientRect();
                    if (placed.every(function (other) { return apart(box, other); })) {
                        placed.push(box);
                    } else {
                        name.marker.remove();
                    }
                });
            }
            map.on("zoomend resize", place);
            map.whenReady(place);
            window.addEventListener("load", place);
        })({{ this._parent.get_name() }}, {{ this.labels_json }});
        {% endmacro %}
        """
    )

    def __init__(self, legends: dict[str, str], labels_json: str):
        super().__init__()
        self._name = "Controls"
        self.legends = legends
        self.labels_json = labels_json
        self.label_class = CLASS_LABEL
        self.folded_below = FOLDED_LEGEND_BELOW_PX


def _line_swatch(kind: style.Kind, label: str) -> str:
    """A legend row: a small rectangle drawn as ``kind`` (halo included), then its name."""
    fill = (
        f' fill="{kind.fill}" fill-opacity="{kind.fill_opacity:g}"' if kind.fill else ' fill="none"'
    )
    dash = f' stroke-dasharray="{kind.dash_svg}"' if kind.dash_svg else ""
    halo = (
        f'<rect x="4" y="3" width="24" height="10" fill="none" stroke="{style.PAPER}"'
        f' stroke-width="{kind.halo:g}"/>'
        if kind.halo
        else ""
    )
    return (
        f'<div class="qpv-legend-row" data-kind="{kind.key}">'
        '<svg width="32" height="16" aria-hidden="true">'
        f'{halo}<rect x="4" y="3" width="24" height="10"{fill} stroke="{kind.stroke}"'
        f' stroke-width="{kind.width:g}"{dash}/></svg>'
        f"<span>{html.escape(label)}</span></div>"
    )


def _fill_swatch(color: str, label: str) -> str:
    return (
        '<div class="qpv-legend-row">'
        '<svg width="32" height="16" aria-hidden="true"><rect x="4" y="3" width="24" height="10"'
        f' fill="{color}" stroke="{style.COMMUNE.stroke}" stroke-width="1"/></svg>'
        f"<span>{html.escape(label)}</span></div>"
    )
