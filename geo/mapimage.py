"""Maps as images, with no browser: a view of the territory drawn with matplotlib.

:func:`map_png` is the map a user downloads: framed with its title, the perimeters shown, the
date, a legend and a line of sources. :func:`point_map_png` is the extract around one point of
the printed answer of the address page (``geo.answersheet``). :class:`MapCanvas` is the engine,
shared with the PDF sheets (``geo.factsheet``): it draws the communes, the territory and the
quartiers once, then each view only moves the frame and adds its own layer (selection, names,
scale, legend), which is what makes a 21-page dossier cheap.

Drawn with matplotlib's object API (``Figure``, no pyplot: safe in a server thread) from the
Lambert-93 geometries, in the colours and line styles of ``geo.style``, shared with the live map.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import shapely
from matplotlib import patheffects
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo import generations, style
from geo.coordinates import LAMBERT93
from geo.errors import InputError
from geo.format import french_date
from geo.quartier import SHORT_SOURCES
from geo.store import Dataset
from geo.verdict import BAND_FAR_M, BAND_NEAR_M

SCALE_STEPS_M = (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000)
# Frame of a downloaded map: bands above and below the map, in inches of the figure.
TITLE_BAND_IN = 0.62
SOURCES_BAND_IN = 0.32


@dataclass(frozen=True)
class View:
    """What a map shows.

    ``quartiers`` are drawn as selected (``geo.style.SELECTED``); ``communes`` are in focus
    (white, darker outline, named); ``named`` quartiers get their names written; the frame fits
    the selected quartiers and communes in focus, or the whole territory when both are empty.
    """

    quartiers: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()
    generation: int = 2024
    named: tuple[str, ...] = ()
    outline: bool = True
    legend: bool = True


def map_png(
    data: Dataset,
    *,
    quartiers: Sequence[str] = (),
    communes: Sequence[str] = (),
    generation: int = 2024,
    outline: bool = True,
    label_quartiers: bool = True,
    named: Sequence[str] | None = None,
    width_px: int = 1200,
    height_px: int = 900,
    dpi: int = 150,
    title: str | None = None,
    made_on: date | None = None,
) -> bytes:
    """Render a view of the territory as a PNG image of exactly ``width_px`` x ``height_px``.

    The image is framed: a title, the perimeters shown and the date above the map; the
    legend on it; a line of sources below.

    Parameters
    ----------
    data
        The loaded dataset.
    quartiers
        QPV codes drawn as selected; the other quartiers of ``generation`` keep their kind's
        style (``geo.style``).
    communes
        INSEE codes of communes in focus (white, darker outline, named).
    generation
        Perimeters drawn: 2015 or 2024.
    outline
        Draw the territory's outline.
    label_quartiers, named
        Write the names of ``named`` quartiers (default: the selected ones, when
        ``label_quartiers``).
    width_px, height_px, dpi
        Image size in pixels and resolution (sets the size of the type).
    title
        The title above the map; by default the quartier's, the commune's or the territory's.
    made_on
        The date written under the title (default: today).

    Returns
    -------
    bytes
        The PNG file.
    """
    if named is None:
        named = quartiers if label_quartiers else ()
    view = check_view(
        data, View(tuple(quartiers), tuple(communes), generation, tuple(named), outline)
    )
    canvas = MapCanvas(
        MapLayers(data), generation, width_px=width_px, height_px=height_px, dpi=dpi, framed=True
    )
    heading = title or default_title(data, view)
    return canvas.png(view, title=heading, made_on=made_on or date.today())


def check_view(data: Dataset, view: View) -> View:
    """``view`` when every code in it exists; InputError (French) otherwise."""
    if view.generation not in generations.LABELS:
        raise InputError(f"génération de périmètres inconnue : {view.generation!r}")
    known_qpv = set(data.qpv_of(view.generation)["code"])
    unknown = [c for c in (*view.quartiers, *view.named) if c not in known_qpv]
    if unknown:
        raise InputError(f"quartier(s) inconnu(s) en {view.generation} : {', '.join(unknown)}")
    known_communes = set(data.communes["code"])
    unknown = [c for c in view.communes if c not in known_communes]
    if unknown:
        raise InputError(f"commune(s) hors du territoire : {', '.join(unknown)}")
    return view


def default_title(data: Dataset, view: View) -> str:
    """The quartier's name, the communes' names, or « Quartiers prioritaires — territoire »."""
    if len(view.quartiers) == 1:
        return str(data.qpv.set_index("code").loc[view.quartiers[0], "name"])
    if view.communes:
        names = data.communes.set_index("code").loc[list(view.communes), "name"]
        return "Quartiers prioritaires — " + ", ".join(names)
    return f"Quartiers prioritaires — {data.territory_name}"


class MapLayers:
    """The dataset's shapes in Lambert-93, reprojected once for every map of an export."""

    def __init__(self, data: Dataset):
        self.data = data
        self.communes = data.communes.to_crs(LAMBERT93)
        self.territory = data.territory.to_crs(LAMBERT93)
        self.territory_name = data.territory_name
        self._quartiers: dict[int, gpd.GeoDataFrame] = {}

    def quartiers(self, generation: int) -> gpd.GeoDataFrame:
        """The quartiers of ``generation`` (as their file gives them, not the display copy) with
        their ``kind`` (geo.style)."""
        if generation not in self._quartiers:
            qpv = self.data.qpv_of(generation).copy()
            qpv["kind"] = [
                style.quartier_kind(status, bool(shared))
                for status, shared in zip(qpv["status"], qpv["shared"], strict=True)
            ]
            self._quartiers[generation] = qpv
        return self._quartiers[generation]


class MapCanvas:
    """A figure on which the background of every view is drawn once.

    The communes, the territory's outline and every quartier of ``generation`` are drawn when
    the canvas is made. :meth:`drawn` adds one view's own layer (selection, communes in focus,
    names, scale, legend), frames it, and takes it off again on exit.
    """

    def __init__(
        self,
        layers: MapLayers,
        generation: int,
        *,
        width_px: int,
        height_px: int,
        dpi: int,
        framed: bool = False,
    ):
        if width_px < 100 or height_px < 100:
            raise InputError(f"image trop petite : {width_px} x {height_px} pixels (100 au moins)")
        self.layers = layers
        self.generation = generation
        self.dpi = dpi
        self.framed = framed
        width_in, height_in = width_px / dpi, height_px / dpi
        self.figure = Figure(figsize=(width_in, height_in), dpi=dpi, facecolor=style.PAPER)
        top = TITLE_BAND_IN / height_in if framed else 0.0
        bottom = SOURCES_BAND_IN / height_in if framed else 0.0
        self.ax = self.figure.add_axes((0, bottom, 1, 1 - top - bottom))
        self.aspect = width_in / (height_in * (1 - top - bottom))
        self.ax.set_aspect("equal")
        self.ax.set_axis_off()
        self._draw_background()

    def _draw_background(self) -> None:
        ax, layers = self.ax, self.layers
        _plot(ax, layers.communes.geometry, style.COMMUNE, zorder=1, fill=style.PAPER_COMMUNE_FILL)
        _outline(ax, layers.territory.boundary, style.TERRITORY, zorder=3)
        quartiers = layers.quartiers(self.generation)
        for kind in (style.NEIGHBOURING, style.SHARED, style.CONTRACT):
            group = quartiers[quartiers["kind"] == kind]
            if not group.empty:
                _plot(ax, group.geometry, kind, zorder=4)

    def png(self, view: View, *, title: str = "", made_on: date | None = None) -> bytes:
        """The view as PNG bytes (framed canvases also write ``title`` and ``made_on``)."""
        return self.render(view, title=title, made_on=made_on)[0]

    def render(
        self, view: View, *, title: str = "", made_on: date | None = None
    ) -> tuple[bytes, list[style.Kind]]:
        """The view as PNG bytes, and the kinds of shapes it shows (its legend's rows)."""
        with self.drawn(view, title=title, made_on=made_on) as (figure, kinds):
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=self.dpi, facecolor=style.PAPER)
        return buffer.getvalue(), kinds

    @contextmanager
    def drawn(
        self, view: View, *, title: str = "", made_on: date | None = None
    ) -> Iterator[tuple[Figure, list[style.Kind]]]:
        """Draw ``view``'s own layer; yield the figure and the kinds its legend lists."""
        if view.generation != self.generation:
            raise ValueError(f"canvas of {self.generation}, view of {view.generation}")
        before = set(self.ax.get_children()) | set(self.figure.get_children())
        try:
            kinds = self._draw_view(view)
            if self.framed:
                self._draw_frame(view, title, made_on or date.today())
            yield self.figure, kinds
        finally:
            for artist in (set(self.ax.get_children()) | set(self.figure.get_children())) - before:
                artist.remove()

    def _draw_view(self, view: View) -> list[style.Kind]:
        ax, layers = self.ax, self.layers
        quartiers = layers.quartiers(view.generation)
        selected = quartiers[quartiers["code"].isin(view.quartiers)]
        communes = layers.communes
        focus = communes[communes["code"].isin(view.communes)]
        shapes = [*selected.geometry, *focus.geometry] or list(layers.territory.geometry)
        xmin, ymin, xmax, ymax = _fit(shapely.union_all(shapes).bounds, self.aspect, pad=0.08)
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        view_box = shapely.box(xmin, ymin, xmax, ymax)

        if not focus.empty:
            _plot(ax, focus.geometry, style.COMMUNE_IN_FOCUS, zorder=2, fill=style.PAPER)
        if not selected.empty:
            _selected(ax, selected.geometry)
        # Names: communes in focus (or, on the territory's view, those holding a quartier),
        # then the named quartiers on top.
        holding = communes[communes[f"n_qpv_{view.generation}"] > 0]
        labelled = focus if not focus.empty else holding
        for name, geom in zip(labelled["name"], labelled.geometry, strict=True):
            part = geom.intersection(view_box)
            if not part.is_empty:
                _label(ax, name, part, size=7 if focus.empty else 9, color=style.MUTED_TEXT)
        named = quartiers[quartiers["code"].isin(view.named)]
        for name, geom in zip(named["name"], named.geometry, strict=True):
            _label(ax, name, geom, size=8, weight="bold", color=style.TEXT)

        _scale_bar(ax, xmin, xmax, ymin, ymax)
        _north_arrow(ax, xmax, ymax, xmax - xmin)
        visible = quartiers[quartiers.geometry.intersects(view_box)]
        kinds = style.legend_kinds(
            set(visible["kind"]), selected=not selected.empty, outline=view.outline
        )
        if view.legend:
            _legend(ax, kinds, territory=layers.territory_name)
        # Unframed maps go into a PDF, whose page names the sources.
        return kinds

    def _draw_frame(self, view: View, title: str, made_on: date) -> None:
        fig = self.figure
        height_in = fig.get_figheight()
        top = 1 - 0.12 / height_in
        fig.text(
            0.015, top, title, ha="left", va="top", fontsize=13, weight="bold", color=style.TEXT
        )
        fig.text(
            0.015,
            top - 0.3 / height_in,
            f"{generations.LABELS[view.generation]} · carte établie le {french_date(made_on)}",
            ha="left",
            va="top",
            fontsize=8,
            color=style.MUTED_TEXT,
        )
        fig.text(
            0.015,
            0.1 / height_in,
            "Sources : " + map_credit(self.layers.data, view.generation),
            ha="left",
            va="bottom",
            fontsize=6.5,
            color=style.MUTED_TEXT,
        )


def map_credit(data: Dataset, generation: int) -> str:
    """The sources of a map in one line: perimeters (and how precise), communes, populations."""
    perimeters = f"périmètres {generation} : {SHORT_SOURCES['qpv']}"
    if generations.contours_simplified(data, generation):
        perimeters += " (copie simplifiée)"
    return (
        f"{perimeters} ; communes : IGN ADMIN EXPRESS (contours simplifiés) ; populations : Insee"
    )


def _mpl_line(kind: style.Kind) -> dict:
    """matplotlib's edge style for ``kind``: colour, width in points and dash pattern.

    matplotlib scales dash lengths by the line width (``lines.scale_dashes``); SVG and PDF
    do not: the pattern is divided by the width so that all three draw the same dashes.
    """
    line: dict = {"edgecolor": kind.stroke, "linewidth": kind.width_pt}
    if kind.dash_pt:
        line["linestyle"] = (0, tuple(d / kind.width_pt for d in kind.dash_pt))
    return line


def _plot(ax, shapes, kind: style.Kind, *, zorder: float, fill: str | None = None) -> None:
    face = to_rgba(fill, 1.0) if fill else to_rgba(kind.fill or "none", kind.fill_opacity)
    gpd.GeoSeries(shapes).plot(ax=ax, facecolor=face, zorder=zorder, **_mpl_line(kind))


def _outline(ax, lines, kind: style.Kind, *, zorder: float) -> None:
    line = _mpl_line(kind)
    gpd.GeoSeries(lines).plot(
        ax=ax,
        color=line.pop("edgecolor"),
        zorder=zorder,
        linestyle=line.pop("linestyle", "-"),
        **line,
    )


def _selected(ax, shapes) -> None:
    kind = style.SELECTED
    gpd.GeoSeries(shapes).plot(
        ax=ax, facecolor="none", edgecolor=style.PAPER, linewidth=kind.halo_pt, zorder=5
    )
    _plot(ax, shapes, kind, zorder=5.1)


def _fit(bounds, aspect: float, *, pad: float) -> tuple[float, float, float, float]:
    """Pad a bounding box and widen it to the image's aspect ratio (width / height)."""
    xmin, ymin, xmax, ymax = bounds
    w = max(xmax - xmin, 200.0) * (1 + 2 * pad)
    h = max(ymax - ymin, 200.0) * (1 + 2 * pad)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _label(ax, text: str, geom, *, size: float, color: str, weight: str = "normal") -> None:
    point = geom.representative_point()
    ax.annotate(
        _wrap(text, 24),
        (point.x, point.y),
        ha="center",
        va="center",
        fontsize=size,
        color=color,
        weight=weight,
        annotation_clip=True,
        zorder=7,
        path_effects=[patheffects.withStroke(linewidth=2.5, foreground=style.PAPER)],
    )


def _wrap(text: str, width: int) -> str:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def _scale_bar(ax, xmin, xmax, ymin, ymax) -> None:
    width = xmax - xmin
    length = max((s for s in SCALE_STEPS_M if s <= width / 4), default=SCALE_STEPS_M[0])
    x0 = xmin + width * 0.03
    y0 = ymin + (ymax - ymin) * 0.07
    ax.plot(
        [x0, x0 + length], [y0, y0], color="black", linewidth=3, solid_capstyle="butt", zorder=8
    )
    km = length / 1000
    text = f"{km:g}".replace(".", ",") + " km" if length >= 1000 else f"{length} m"
    ax.text(
        x0 + length / 2,
        y0 + (ymax - ymin) * 0.015,
        text,
        ha="center",
        va="bottom",
        fontsize=7,
        zorder=8,
        path_effects=[patheffects.withStroke(linewidth=2.5, foreground=style.PAPER)],
    )


def _north_arrow(ax, xmax, ymax, width) -> None:
    x = xmax - width * 0.04
    y = ymax - width * 0.1
    ax.annotate(
        "N",
        xy=(x, y + width * 0.06),
        xytext=(x, y),
        ha="center",
        va="top",
        fontsize=8,
        weight="bold",
        zorder=8,
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.2},
    )


def _legend(ax, kinds: Sequence[style.Kind], *, territory: str) -> None:
    handles = []
    for kind in kinds:
        face = to_rgba(kind.fill, kind.fill_opacity) if kind.fill else "none"
        handles.append(
            Patch(facecolor=face, label=style.legend_label(kind, territory), **_mpl_line(kind))
        )
    legend = ax.legend(
        handles=handles,
        loc="upper left",
        fontsize=6.5,
        framealpha=0.92,
        edgecolor=style.LEGEND_BORDER,
        handlelength=2.4,
    )
    legend.set_zorder(9)
    for text in legend.get_texts():
        text.set_color(style.TEXT)


# ---------------------------------------------------------------------------------------------
# Around one point


def point_map_png(
    layers: MapLayers,
    x: float,
    y: float,
    *,
    concerned: Sequence[str],
    half_side_m: float,
    size_px: int,
    dpi: int,
) -> bytes:
    """The quartiers around a Lambert-93 point, with the 300 m and 500 m circles (square PNG).

    The quartiers in force are drawn by kind, those in ``concerned`` (the point's) as selected;
    the previous perimeters as the counterpart's dashed outline; a scale bar and a legend.
    """
    previous, in_force = generations.PREVIOUS, generations.IN_FORCE
    fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi, facecolor=style.PAPER)
    ax = fig.add_axes((0, 0, 1, 1))
    xmin, ymin, xmax, ymax = x - half_side_m, y - half_side_m, x + half_side_m, y + half_side_m
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    view = shapely.box(xmin, ymin, xmax, ymax)
    communes = layers.communes[layers.communes.intersects(view)]
    if not communes.empty:
        _plot(ax, communes.geometry, style.COMMUNE, zorder=1, fill=style.PAPER_COMMUNE_FILL)
    quartiers = layers.quartiers(in_force)
    quartiers = quartiers[quartiers.intersects(view)]
    mine = quartiers["code"].isin(list(concerned))
    for kind in (style.NEIGHBOURING, style.SHARED, style.CONTRACT):
        group = quartiers[~mine & (quartiers["kind"] == kind)]
        if not group.empty:
            _plot(ax, group.geometry, kind, zorder=4)
    if mine.any():
        _selected(ax, quartiers[mine].geometry)
    before = layers.quartiers(previous)
    before = before[before.intersects(view)]
    if not before.empty:
        _outline(ax, before.boundary, style.COUNTERPART, zorder=6)
    for radius, kind in ((BAND_NEAR_M, style.NEAR_RING), (BAND_FAR_M, style.FAR_RING)):
        ring = shapely.Point(x, y).buffer(radius, quad_segs=32).exterior
        _outline(ax, gpd.GeoSeries([ring]), kind, zorder=7)
        ax.annotate(
            f"{int(radius)} m",
            (x, y + radius),
            ha="center",
            va="bottom",
            fontsize=6,
            color=style.TEXT,
            zorder=8,
            path_effects=[patheffects.withStroke(linewidth=2, foreground=style.PAPER)],
        )
    point = style.POINT
    ax.plot([x], [y], marker="o", markersize=8, color=point.fill, markeredgecolor=point.stroke,
            markeredgewidth=point.width_pt, zorder=9)  # fmt: skip
    handles = [
        Line2D([], [], marker="o", color=point.fill, linestyle="", label=point.label),
        Patch(
            facecolor=to_rgba(style.SELECTED.fill or "none", style.SELECTED.fill_opacity),
            label=f"Quartier {in_force} du point",
            **_mpl_line(style.SELECTED),
        ),
        Patch(
            facecolor=to_rgba(style.CONTRACT.fill or "none", style.CONTRACT.fill_opacity),
            label=f"Quartiers {in_force}",
            **_mpl_line(style.CONTRACT),
        ),
        Patch(facecolor="none", label=f"Quartiers {previous}", **_mpl_line(style.COUNTERPART)),
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=5.5, framealpha=0.9,
              edgecolor=style.LEGEND_BORDER)  # fmt: skip
    _scale_bar(ax, xmin, xmax, ymin, ymax)
    ax.text(xmax - half_side_m * 0.02, ymin + half_side_m * 0.02, map_credit(layers.data, in_force),
            ha="right", va="bottom", fontsize=4.5, color=style.MUTED_TEXT)  # fmt: skip
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
