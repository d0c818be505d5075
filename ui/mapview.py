"""The map of the quartiers: layers, styles, legends and commune names, for ``ui.leaflet``.

- :func:`territory_map` is what a selection shows: the territory's outline, its communes
  (coloured by their share of inhabitants in a quartier, on request), the selected quartiers,
  the legends and the communes' names, the view fitted to the selection. Its layers are built
  once per generation and kept for the process (:func:`_layers`): a rerun picks the features
  to show, and the browser, which knows these layers by their key, reads none of them again.
- :func:`focus_layer` draws the quartier whose panel is open, and optionally its counterpart
  in the other generation: the browser adds it to the map it has, so the zoom stays.
- :func:`show_map` displays a map; a click on a quartier or a commune opens its panel.

Colours, line styles and legend labels come from ``geo.style`` (shared with the PNG and PDF
maps); what is here is their Leaflet form. Every text that reaches the map's HTML (tooltips,
legend, commune names, layer names) is escaped here.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
import shapely

from geo import generations, style
from geo.format import fr_int, fr_percent
from geo.quartier import SHORT_SOURCES, population_source, status_label
from geo.store import Dataset
from ui import leaflet
from ui.derived import per_build
from ui.leaflet import Bounds, Layer, Legend, MapSpec, View
from ui.memory import keep_for_process

MAP_KEY = "carte_map"
MAP_HEIGHT = leaflet.DEFAULT_HEIGHT
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
QUARTIERS_NAME = "Quartiers prioritaires"
COMMUNES_NAME = "Communes"


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


def territory_map(
    dataset: Dataset,
    *,
    generation: int,
    codes: Sequence[str],
    choropleth: bool = False,
    legend_selected: bool = True,
) -> MapSpec:
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
    legend_selected
        List the selected quartier's style in the legend. The map page always does: a panel
        opens without redrawing the map (:func:`focus_layer`), so its legend must already say
        what the outline means.
    """
    layers = _layers(dataset, generation)
    wanted = set(codes)
    shown = [code for code in layers.quartier_bounds if code in wanted]
    bounds = _union([layers.quartier_bounds[c] for c in shown]) or layers.territory_bounds
    present = [layers.quartier_style[c] for c in shown]
    kinds = tuple(style.legend_kinds(present, selected=legend_selected))
    legends = [Legend("bottomright", legend_html(dataset.territory_name, kinds))]
    if choropleth:
        legends.append(Legend("bottomleft", choropleth_legend_html()))
    # Keep the selection clear of the legends, which sit in the bottom corners.
    legend_rows = max(len(kinds) + 2, len(CHOROPLETH) + 3 if choropleth else 0)
    view = View.fit(bounds, padding_bottom_right=(12, 20 + 17 * legend_rows))
    return MapSpec(
        layers=(
            layers.communes_choropleth if choropleth else layers.communes,
            layers.territory,
            layers.quartiers.showing(shown),
        ),
        view=view,
        legends=tuple(legends),
        labels=layers.labels,
        css=MAP_CSS,
    )


def focus_layer(dataset: Dataset, code: str, *, counterpart: str | None = None) -> Layer:
    """The selected quartier ``code`` (``geo.style.SELECTED``) and its ``counterpart``.

    The counterpart, the same quartier in the other generation, is drawn as
    ``geo.style.COUNTERPART``. Neither catches clicks: the quartiers underneath still open
    their panels.
    """
    shapes = _shapes(dataset)
    selected = style.SELECTED
    halo = {"color": style.PAPER, "weight": selected.halo, "opacity": 0.9, "fill": False}
    drawn = [(code, halo), (code, path_style(selected))]
    if counterpart:
        drawn.append((counterpart, path_style(style.COUNTERPART, fill=False)))
    features = [
        f'{{"type": "Feature", "properties": {_dumps({"style": options})}, '
        f'"geometry": {shapes[shape_code]}}}'
        for shape_code, options in drawn
        if shape_code in shapes
    ]
    return Layer(
        id="focus",
        geojson=_collection_json(features),
        pane="focus",
        tooltips=False,
        interactive=False,
    )


def show_map(
    spec: MapSpec,
    *,
    on_select: Callable[[str, str], None],
    key: str = MAP_KEY,
    height: str = MAP_HEIGHT,
    on_drawn: Callable[[], None] | None = None,
) -> None:
    """Display ``spec``; a click on a quartier or a commune calls ``on_select(kind, code)``.

    ``kind`` is :data:`KIND_QPV` or :data:`KIND_COMMUNE`; ``code`` is one the map shows.
    Panning and zooming never rerun the page. ``on_drawn``: see :func:`ui.leaflet.show_map`.
    """
    leaflet.show_map(
        spec,
        key=key,
        height=height,
        clicks="feature",
        on_click=lambda value: on_select(value["kind"], value["code"]),
        on_drawn=on_drawn,
    )


def legend_html(territory_name: str, kinds: Iterable[style.Kind]) -> str:
    """The map's legend, one row per kind (``geo.style.legend_kinds``), foldable.

    The territory's outline is named after the territory.
    """
    return _legend_html(territory_name, tuple(kinds))


@functools.lru_cache(maxsize=64)
def _legend_html(territory_name: str, kinds: tuple[style.Kind, ...]) -> str:
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


def _map_css() -> str:
    """Styles of the legends, commune names and focus ring (values from ``geo.style``)."""
    halo = style.PAPER
    return f"""
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
    .qpv-map:focus-visible {{ outline: 3px solid {style.TEXT}; outline-offset: 2px; }}
    .leaflet-control a:focus-visible, .{CLASS_LEGEND} summary:focus-visible,
    .leaflet-control-layers input:focus-visible {{ outline: 2px solid {style.TEXT};
      outline-offset: 1px; }}
    """


MAP_CSS = _map_css()


# ---------------------------------------------------------------------------------------------
# Layers, built once per generation


@dataclass(frozen=True)
class _Layers:
    """One generation's layers; bounds are ``((south, west), (north, east))``."""

    quartiers: Layer  # every quartier of the generation; territory_map picks those shown
    quartier_style: dict[str, style.Kind]
    quartier_bounds: dict[str, Bounds]  # in table order
    communes: Layer
    communes_choropleth: Layer
    territory: Layer
    territory_bounds: Bounds
    labels: leaflet.Labels


@per_build()
def _layers(dataset: Dataset, generation: int) -> _Layers:
    """Serialise the layers of one generation (cached per build of a territory's tables)."""
    qpv = dataset.qpv_of(generation).drop(columns="geometry")
    display = dataset.qpv_display[dataset.qpv_display["generation"] == generation]
    qpv = qpv.merge(display[["code", "geometry"]], on="code", validate="one_to_one")
    quartier_json, quartier_style, quartier_bounds = [], {}, {}
    source = population_source(dataset, generation)
    for row in qpv.itertuples():
        quartier_json.append(_dumps(_quartier_feature(row, source)))
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
        tooltip = _commune_tooltip(name, int(n), share, bool(estimated), generation, source)
        base = {"kind": KIND_COMMUNE, "code": code, "tooltip": tooltip}
        shape = _geometry(geometry)
        plain.append(_feature(code, shape, {**base, "style": _commune_style(code, None)}))
        fill = _commune_style(code, share_class(share))
        coloured.append(_feature(code, shape, {**base, "style": fill}))
    commune_codes = frozenset(communes["code"])

    def communes_layer(features: list[dict]) -> Layer:
        return Layer(
            id="communes",
            geojson=_collection_json(_dumps(f) for f in features),
            pane="communes",
            name=COMMUNES_NAME,
            click_kind=KIND_COMMUNE,
            feature_ids=commune_codes,
            attribution=html.escape(DATA_ATTRIBUTION),
            kept=True,
        )

    outline = dataset.territory.to_crs(4326).geometry.iloc[0]
    territory = _feature(
        dataset.siren,
        _geometry(outline),
        {"style": {"className": CLASS_TERRITORY, **path_style(style.TERRITORY, fill=False)}},
    )
    labels = leaflet.Labels(
        items=tuple(
            (html.escape(label.code), html.escape(label.text), label.lat, label.lon, label.min_zoom)
            for label in style.commune_labels(communes)
        ),
        class_name=CLASS_LABEL,
    )
    layers = _Layers(
        quartiers=Layer(
            id="quartiers",
            geojson=_collection_json(quartier_json),
            pane="quartiers",
            name=QUARTIERS_NAME,
            click_kind=KIND_QPV,
            feature_ids=frozenset(quartier_style),
            kept=True,
        ),
        quartier_style=quartier_style,
        quartier_bounds=quartier_bounds,
        communes=communes_layer(plain),
        communes_choropleth=communes_layer(coloured),
        territory=Layer(
            id="territory",
            geojson=_collection_json([_dumps(territory)]),
            pane="territory",
            name=f"Limite du territoire ({html.escape(dataset.territory_name)})",
            tooltips=False,
            interactive=False,
            kept=True,
        ),
        territory_bounds=_bounds_of(outline),
        labels=labels,
    )
    return keep_for_process(layers)


@per_build(maxsize=4)
def _shapes(dataset: Dataset) -> dict[str, str]:
    """Every quartier's display geometry (both generations), as GeoJSON text, by code."""
    display = dataset.qpv_display
    shapes = {
        code: json.dumps(_geometry(geometry))
        for code, geometry in zip(display["code"], display.geometry, strict=True)
    }
    return keep_for_process(shapes)


def _quartier_feature(row, source: str) -> dict:
    """A quartier as a GeoJSON feature; its tooltip gives the population's year and source."""
    kind = style.quartier_kind(row.status, bool(row.shared))
    year = generations.year_text(row.population_year)
    when = f" en {year}" if year != generations.NO_YEAR else ""
    tooltip = (
        f"<strong>{html.escape(row.name)}</strong> ({html.escape(row.code)})<br>"
        f"{html.escape(status_label(row.status, bool(row.shared)))}<br>"
        f"{html.escape(row.commune_names)}<br>"
        f"{fr_int(row.population)} habitants{when} ({html.escape(source)}"
        f"{'' if when else ', ' + year})<br>"
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
    name: str, n: int, share: float | None, estimated: bool, generation: int, source: str
) -> str:
    text = f"<strong>{html.escape(name)}</strong><br>"
    if not n:
        return text + f"Aucun quartier prioritaire ({generation})"
    text += f"{n} quartier{'s' if n > 1 else ''} prioritaire{'s' if n > 1 else ''} ({generation})"
    if share is not None:
        about = "environ " if estimated else ""
        text += (
            f"<br>{about}{fr_percent(share)} des habitants en quartier prioritaire "
            f"({html.escape(source)} ; {SHORT_SOURCES['communes']})"
        )
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


def _bounds_of(geometry) -> Bounds:
    west, south, east, north = (float(v) for v in geometry.bounds)
    return ((south, west), (north, east))


def _union(bounds: Sequence[Bounds]) -> Bounds | None:
    if not bounds:
        return None
    return (
        (min(b[0][0] for b in bounds), min(b[0][1] for b in bounds)),
        (max(b[1][0] for b in bounds), max(b[1][1] for b in bounds)),
    )


# ---------------------------------------------------------------------------------------------
# Legends


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
