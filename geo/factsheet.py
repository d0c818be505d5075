"""One-page A4 PDF fact sheet per quartier, and PNG maps of a view, with no browser.

Maps are drawn with matplotlib's object API (``Figure``, no pyplot: safe in a server thread)
from the Lambert-93 geometries. The PDF is written with fpdf2 and embeds the DejaVu Sans font
bundled with matplotlib so that accents print. Every string from the data goes through fpdf's
plain-text API (no HTML, no markdown).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib
import pandas as pd
import shapely
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geo.build import LAMBERT93
from geo.compare import (
    METRIC_BY_KEY,
    change_table,
    quartier_table,
)
from geo.errors import InputError
from geo.format import fr_number
from geo.selection import latest_population_column
from geo.sources import DATASETS
from geo.store import Dataset
from geo.territory import STATUS_NEIGHBOURING

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
FONT = "DejaVu"

# Okabe-Ito colours: distinguishable with every common colour-vision deficiency. The selected
# quartiers are also hatched, so the map reads in greyscale too.
SELECTED_FILL = "#E69F00"
SELECTED_EDGE = "#000000"
OTHER_FILL = "#56B4E9"
OTHER_EDGE = "#0072B2"
COMMUNE_FILL = "#F2F2F2"
COMMUNE_EDGE = "#8C8C8C"
FOCUS_COMMUNE_EDGE = "#333333"
TERRITORY_EDGE = "#000000"
TERRITORY_WIDTH = 2.6
TEXT = "#161616"
ACCENT = (0, 0, 145)  # "bleu France" of the app's theme

MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
SCALE_STEPS_M = (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000)
# Short forms of the producers in geo.sources.DATASETS, for the narrow "source" column.
SHORT_SOURCES = {
    "qpv2015": "ANCT",
    "qpv2024": "ANCT",
    "pop2013": "Insee, RP 2013",
    "indicateurs2024": "compilation SIG Ville / Insee",
    "poplegales2023": "Insee",
}
MAP_CREDIT = "Périmètres : ANCT ; communes : IGN ADMIN EXPRESS (contours simplifiés)"

A4_MM = (210.0, 297.0)
MARGIN_MM = 12.0
SHEET_MAP_MM = (88.0, 84.0)
FOOTER_MM = 16.0
SHEET_MAP_DPI = 200


@dataclass(frozen=True)
class View:
    """What a map shows: highlighted quartiers, communes in focus, the territory outline."""

    quartiers: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()
    generation: int = 2024
    outline: bool = True
    label_quartiers: bool = True


# ---------------------------------------------------------------------------------------------
# Maps


def map_png(
    data: Dataset,
    *,
    quartiers: Sequence[str] = (),
    communes: Sequence[str] = (),
    generation: int = 2024,
    outline: bool = True,
    label_quartiers: bool = True,
    width_px: int = 1200,
    height_px: int = 900,
    dpi: int = 150,
) -> bytes:
    """Render a view of the territory as a PNG image of exactly ``width_px`` x ``height_px``.

    Parameters
    ----------
    data
        The loaded dataset.
    quartiers
        QPV codes to highlight (orange, hatched); the other quartiers of ``generation`` are
        drawn in blue.
    communes
        INSEE codes of communes in focus (darker outline, labelled).
    generation
        Perimeters drawn: 2015 or 2024.
    outline
        Draw the territory's outline.
    label_quartiers
        Write the names of the highlighted quartiers on the map.
    width_px, height_px, dpi
        Image size in pixels and resolution (sets the size of the type).

    Returns
    -------
    bytes
        The PNG file. The view fits the highlighted quartiers and communes in focus, or the
        whole territory when both are empty.
    """
    view = _check_view(
        data, View(tuple(quartiers), tuple(communes), generation, outline, label_quartiers)
    )
    if width_px < 100 or height_px < 100:
        raise InputError(f"image trop petite : {width_px} x {height_px} pixels (100 au moins)")
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    _draw_view(ax, data, view, aspect=width_px / height_px)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def _check_view(data: Dataset, view: View) -> View:
    if view.generation not in (2015, 2024):
        raise InputError(f"génération de périmètres inconnue : {view.generation!r}")
    known_qpv = set(data.qpv_of(view.generation)["code"])
    unknown = [c for c in view.quartiers if c not in known_qpv]
    if unknown:
        raise InputError(f"quartier(s) inconnu(s) en {view.generation} : {', '.join(unknown)}")
    known_communes = set(data.communes["code"])
    unknown = [c for c in view.communes if c not in known_communes]
    if unknown:
        raise InputError(f"commune(s) hors du territoire : {', '.join(unknown)}")
    return view


def _draw_view(ax, data: Dataset, view: View, *, aspect: float) -> None:
    communes = data.communes.to_crs(LAMBERT93)
    qpv = data.qpv_of(view.generation)
    selected = qpv[qpv["code"].isin(view.quartiers)]
    others = qpv[~qpv["code"].isin(view.quartiers)]
    focus = communes[communes["code"].isin(view.communes)]
    territory = data.territory.to_crs(LAMBERT93)

    shapes = [*selected.geometry, *focus.geometry] or list(territory.geometry)
    xmin, ymin, xmax, ymax = _fit(shapely.union_all(shapes).bounds, aspect, pad=0.08)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    view_box = shapely.box(xmin, ymin, xmax, ymax)

    communes.plot(ax=ax, facecolor=COMMUNE_FILL, edgecolor=COMMUNE_EDGE, linewidth=0.6)
    if not focus.empty:
        focus.plot(ax=ax, facecolor="white", edgecolor=FOCUS_COMMUNE_EDGE, linewidth=1.4)
    if view.outline:
        territory.boundary.plot(ax=ax, color=TERRITORY_EDGE, linewidth=TERRITORY_WIDTH)
    if not others.empty:
        others.plot(ax=ax, facecolor=OTHER_FILL, edgecolor=OTHER_EDGE, linewidth=0.8, alpha=0.6)
    if not selected.empty:
        selected.plot(
            ax=ax,
            facecolor=SELECTED_FILL,
            edgecolor=SELECTED_EDGE,
            linewidth=1.4,
            hatch="///",
            alpha=0.9,
        )

    # Labels: communes in focus (or, on the whole-territory view, those holding a quartier),
    # then the highlighted quartiers on top.
    labelled = focus if not focus.empty else communes[communes[f"n_qpv_{view.generation}"] > 0]
    for name, geom in zip(labelled["name"], labelled.geometry, strict=True):
        part = geom.intersection(view_box)
        if not part.is_empty:
            _label(ax, name, part, size=7 if focus.empty else 9, color="#404040")
    if view.label_quartiers:
        for name, geom in zip(selected["name"], selected.geometry, strict=True):
            _label(ax, name, geom, size=9, weight="bold", color=TEXT)

    _scale_bar(ax, xmin, xmax, ymin, ymax)
    _north_arrow(ax, xmax, ymax, xmax - xmin)
    _legend(ax, view, has_selected=not selected.empty, has_focus=not focus.empty)
    ax.text(
        0.995,
        0.005,
        MAP_CREDIT,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=5.5,
        color="#404040",
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
    )


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
        path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")],
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
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=3, solid_capstyle="butt")
    text = (
        f"{fr_number(length / 1000, 1 if length % 1000 else 0)} km"
        if length >= 1000
        else (f"{length} m")
    )
    ax.text(
        x0 + length / 2,
        y0 + (ymax - ymin) * 0.015,
        text,
        ha="center",
        va="bottom",
        fontsize=7,
        path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")],
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
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.2},
    )


def _legend(ax, view: View, *, has_selected: bool, has_focus: bool) -> None:
    handles = []
    if has_selected:
        handles.append(
            Patch(
                facecolor=SELECTED_FILL,
                edgecolor=SELECTED_EDGE,
                hatch="///",
                label="Quartier présenté" if len(view.quartiers) == 1 else "Quartiers présentés",
            )
        )
    handles.append(
        Patch(
            facecolor=OTHER_FILL,
            edgecolor=OTHER_EDGE,
            alpha=0.6,
            label=f"{'Autres quartiers' if has_selected else 'Quartiers'} prioritaires "
            f"({view.generation})",
        )
    )
    if has_focus:
        handles.append(Patch(facecolor="white", edgecolor=FOCUS_COMMUNE_EDGE, label="Commune"))
    if view.outline:
        handles.append(
            Patch(
                facecolor="none",
                edgecolor=TERRITORY_EDGE,
                linewidth=TERRITORY_WIDTH,
                label="Limite du territoire",
            )
        )
    ax.legend(handles=handles, loc="upper left", fontsize=6.5, framealpha=0.9, edgecolor="#8C8C8C")


# ---------------------------------------------------------------------------------------------
# PDF fact sheet


def french_date(day: date) -> str:
    """``date(2025, 5, 1)`` -> ``"1er mai 2025"``."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"


def factsheet_pdf(data: Dataset, code: str, *, made_on: date | None = None) -> bytes:
    """The one-page A4 fact sheet of a quartier (code of either generation).

    It holds the title, a map of the quartier in its commune(s), the key figures with their
    years and sources, the 2024 indicators, the change between the 2015 and 2024 perimeters,
    the values missing or set aside, the date the sheet was made and the data vintages.

    Raises
    ------
    InputError
        For an unknown code.
    """
    qpv = data.qpv.set_index("code")
    if code not in qpv.index:
        raise InputError(f"code de quartier inconnu : {code!r}")
    row = qpv.loc[code]
    generation = int(row["generation"])
    code24 = code if generation == 2024 else row["successor"]
    made_on = made_on or date.today()

    pdf = _Sheet(made_on, f"{data.territory_name} (SIREN {data.siren})")
    pdf.set_title(f"Fiche du quartier {row['name']} ({code})")
    pdf.add_page()
    _sheet_header(pdf, data, code, row)
    top = pdf.get_y() + 2
    members = [c for c in row["commune_codes"].split(",") if c in set(data.communes["code"])]
    png = map_png(
        data,
        quartiers=[code],
        communes=members,
        generation=generation,
        label_quartiers=False,  # the title names it; a label would hide a small quartier
        width_px=round(SHEET_MAP_MM[0] / 25.4 * SHEET_MAP_DPI),
        height_px=round(SHEET_MAP_MM[1] / 25.4 * SHEET_MAP_DPI),
        dpi=SHEET_MAP_DPI,
    )
    pdf.image(
        io.BytesIO(png),
        x=MARGIN_MM,
        y=top,
        w=SHEET_MAP_MM[0],
        h=SHEET_MAP_MM[1],
        alt_text=f"Carte du quartier {row['name']} dans sa commune",
    )
    pdf.set_xy(MARGIN_MM, top + SHEET_MAP_MM[1] + 1)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(64, 64, 64)
    pdf.multi_cell(
        SHEET_MAP_MM[0],
        3.2,
        f"Le quartier (orange, hachuré) dans sa commune ; les autres quartiers "
        f"prioritaires {generation} en bleu.",
        align="L",
    )
    map_bottom = pdf.get_y()

    right_x = MARGIN_MM + SHEET_MAP_MM[0] + 6
    pdf.set_xy(right_x, top)
    _key_figures(pdf, data, code, generation, x=right_x)
    pdf.set_y(max(pdf.get_y(), map_bottom) + 3)
    if isinstance(code24, str):
        _indicators(pdf, data, code24, shown_code=code)
    _change(pdf, data, code)
    _remarks(pdf, data, code, code24)
    _sources(pdf)
    return bytes(pdf.output())


class _Sheet(FPDF):
    """A4 portrait with the DejaVu fonts and a footer carrying the date and page mark."""

    def __init__(self, made_on: date, territory: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.made_on = made_on
        self.territory = territory
        self.add_font(FONT, "", str(FONT_REGULAR))
        self.add_font(FONT, "B", str(FONT_BOLD))
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        # Content running into the footer starts a second page: the tests catch it.
        self.set_auto_page_break(True, margin=FOOTER_MM)
        self.set_lang("fr-FR")
        self.set_creator("Carte des quartiers prioritaires – Lens-Liévin")

    @property
    def content_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def footer(self) -> None:
        self.set_y(-FOOTER_MM + 4)
        self.set_draw_color(*ACCENT)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(FONT, "", 7.5)
        self.set_text_color(64, 64, 64)
        self.cell(
            0,
            5,
            f"Fiche établie le {french_date(self.made_on)} · {self.territory}",
            align="L",
        )
        self.cell(0, 5, f"Page {self.page_no()}/{{nb}}", align="R")


def _sheet_header(pdf: _Sheet, data: Dataset, code: str, row: pd.Series) -> None:
    pdf.set_fill_color(*ACCENT)
    pdf.rect(0, 0, A4_MM[0], 4, style="F")
    pdf.set_y(MARGIN_MM - 2)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*ACCENT)
    pdf.cell(
        0,
        5,
        f"Quartier prioritaire de la politique de la ville – {data.territory_name}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(22, 22, 22)
    pdf.set_font(FONT, "B", 18)
    pdf.multi_cell(0, 8, str(row["name"]), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    generation = int(row["generation"])
    pdf.multi_cell(
        0,
        5,
        f"Code {code} · périmètres {generation} · {row['commune_names']}",
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    status = []
    if row["status"] == STATUS_NEIGHBOURING:
        reasons = data.report.get("territory", {}).get("neighbouring", {})
        predecessor = row["predecessor"] if generation == 2024 else code
        status.append(
            "Quartier voisin, hors du contrat de ville du territoire. "
            + reasons.get(predecessor, "")
        )
    if bool(row["shared"]):
        status.append("Quartier partagé avec un autre EPCI.")
    if status:
        pdf.set_font(FONT, "", 8.5)
        pdf.set_text_color(64, 64, 64)
        pdf.multi_cell(0, 4, " ".join(status), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(22, 22, 22)


def _section(pdf: _Sheet, title: str, *, x: float | None = None, width: float = 0) -> None:
    if x is not None:
        pdf.set_x(x)
    pdf.set_font(FONT, "B", 11)
    pdf.set_text_color(*ACCENT)
    pdf.cell(width, 6, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(22, 22, 22)


def _table(
    pdf: _Sheet,
    rows: list[tuple[str, ...]],
    *,
    widths: tuple[float, ...],
    x: float,
    header: tuple[str, ...] | None = None,
    size: float = 8.5,
    align: tuple[str, ...] | None = None,
) -> None:
    """Rows of plain text in fixed-width columns, wrapping within each cell."""
    align = align or ("L",) * len(widths)
    line = size * 0.45
    if header:
        pdf.set_font(FONT, "B", size - 0.5)
        _row(pdf, header, widths, x, line, align, fill=True)
    pdf.set_font(FONT, "", size)
    for i, row in enumerate(rows):
        _row(pdf, row, widths, x, line, align, fill=False, rule=i > 0 or header is None)


def _row(pdf, cells, widths, x, line, align, *, fill: bool, rule: bool = True) -> None:
    heights = [
        len(pdf.multi_cell(w - 1.5, line, text, dry_run=True, output="LINES")) * line
        for w, text in zip(widths, cells, strict=True)
    ]
    height = max(heights) + 1.6
    y = pdf.get_y()
    if fill:
        pdf.set_fill_color(230, 230, 242)
        pdf.rect(x, y, sum(widths), height, style="F")
    elif rule:
        pdf.set_draw_color(200, 200, 200)
        pdf.line(x, y, x + sum(widths), y)
    cx = x
    for w, text, a in zip(widths, cells, align, strict=True):
        pdf.set_xy(cx + 0.75, y + 0.8)
        pdf.multi_cell(w - 1.5, line, text, align=a)
        cx += w
    pdf.set_xy(x, y + height)


def _key_figures(pdf: _Sheet, data: Dataset, code: str, generation: int, *, x: float) -> None:
    values = quartier_table(data, generation).set_index("code").loc[code]
    year = values["population_year"]
    if generation == 2015:
        pop_source = f"{year}, {SHORT_SOURCES['pop2013']}"
    else:
        pop_source = f"année non précisée, {SHORT_SOURCES['indicateurs2024']}"
    rows = [
        (_title("population"), _value("population", values), pop_source),
        (
            _title("area_ha"),
            _value("area_ha", values),
            f"périmètre {generation}, {SHORT_SOURCES[f'qpv{generation}']}",
        ),
        (_title("density"), _value("density", values), "population / surface"),
        (
            METRIC_BY_KEY["share_of_commune_pct"].label,
            _value("share_of_commune_pct", values),
            f"population municipale {latest_population_column(data.communes)[0]} de la (des) "
            "commune(s), "
            f"{SHORT_SOURCES['poplegales2023']}",
        ),
    ]
    width = pdf.w - pdf.r_margin - x
    _section(pdf, "Chiffres clés", x=x, width=width)
    _table(
        pdf,
        rows,
        widths=(width * 0.30, width * 0.30, width * 0.40),
        x=x,
        header=("", "Valeur", "Année et source"),
        align=("L", "R", "L"),
        size=8,
    )


def _indicators(pdf: _Sheet, data: Dataset, code24: str, *, shown_code: str) -> None:
    values = quartier_table(data, 2024).set_index("code").loc[code24]
    title = "Indicateurs 2024"
    if code24 != shown_code:
        title += f" (périmètre 2024 qui lui succède : {code24})"
    _section(pdf, title)
    pairs = [
        ("taux_pauvrete", "taux_emploi"),
        ("indice_jeunesse", "nombre_menages"),
        ("nombre_logements_sociaux", "taux_logements_sociaux"),
        ("personnes_couvertes_caf", "allocataires_caf"),
        ("rsa_socle", None),
    ]
    rows = []
    for left, right in pairs:
        rows.append(
            (
                _title(left),
                _value(left, values),
                _title(right) if right else "",
                _value(right, values) if right else "",
            )
        )
    sizes = " · ".join(
        f"{label} {_value(key, values)}"
        for key, label in (
            ("part_men_1p", "1 pers."),
            ("part_men_2p", "2 pers."),
            ("part_men_3p", "3 pers."),
            ("part_men_45p", "4-5 pers."),
            ("part_men_6pp", "6 pers. ou plus"),
        )
    )
    w = pdf.content_width
    _table(
        pdf,
        rows,
        widths=(w * 0.32, w * 0.16, w * 0.34, w * 0.18),
        x=pdf.l_margin,
        align=("L", "R", "L", "R"),
    )
    _table(pdf, [("Taille des ménages", sizes)], widths=(w * 0.32, w * 0.68), x=pdf.l_margin)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(64, 64, 64)
    pdf.multi_cell(
        0,
        3.2,
        f"{_sentence(SHORT_SOURCES['indicateurs2024'])}, année de référence non précisée par "
        f"la source. {METRIC_BY_KEY['indice_jeunesse'].label} : "
        f"{METRIC_BY_KEY['indice_jeunesse'].help[0].lower()}"
        f"{METRIC_BY_KEY['indice_jeunesse'].help[1:]}",
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(22, 22, 22)
    pdf.ln(2)


def _change(pdf: _Sheet, data: Dataset, code: str) -> None:
    change = change_table(data, code)
    _section(pdf, "Évolution entre les périmètres 2015 et 2024")
    w = pdf.content_width
    rows = [tuple(str(v) for v in r) for r in change.itertuples(index=False)]
    # Code and name on one row: "QP062045 – Quartier Du Maroc".
    (_, code15, code24, *_), (_, name15, name24, *rest) = rows[:2]
    rows[:2] = [
        (
            "Quartier",
            f"{code15} – {name15}" if code15 != "—" else "—",
            f"{code24} – {name24}" if code24 != "—" else "—",
            *rest,
        )
    ]
    _table(
        pdf,
        rows,
        widths=(w * 0.19, w * 0.22, w * 0.22, w * 0.11, w * 0.26),
        x=pdf.l_margin,
        header=("", "Périmètre 2015", "Périmètre 2024", "Évolution", "Remarque"),
        align=("L", "L", "L", "R", "L"),
        size=8,
    )
    pdf.ln(2)


def _remarks(pdf: _Sheet, data: Dataset, code: str, code24) -> None:
    """Missing and set-aside values of the quartier and of its 2024 counterpart."""
    generation = int(data.qpv.set_index("code").loc[code, "generation"])
    lines: list[str] = []
    sheets = [(code, generation)]
    if isinstance(code24, str) and code24 != code:
        sheets.append((code24, 2024))
    for qpv_code, gen in sheets:
        flags = quartier_table(data, gen).set_index("code").loc[qpv_code, "flags"]
        lines.extend(f"{qpv_code} – {part}" for part in flags.split("; ") if part)
    if not lines:
        return
    _section(pdf, "Valeurs manquantes ou écartées")
    pdf.set_font(FONT, "", 7.5)
    for line in lines:
        pdf.multi_cell(0, 3.5, f"• {line}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _sources(pdf: _Sheet) -> None:
    keys = ("qpv2015", "pop2013", "qpv2024", "indicateurs2024", "poplegales2023")
    lines = [f"{DATASETS[k].title} : {DATASETS[k].producer}, {DATASETS[k].vintage}." for k in keys]
    _section(pdf, "Sources et millésimes")
    pdf.set_font(FONT, "", 6.8)
    pdf.set_text_color(64, 64, 64)
    for line in lines:
        pdf.multi_cell(0, 3.1, f"• {line}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(22, 22, 22)


def _title(key: str) -> str:
    return METRIC_BY_KEY[key].label


def _value(key: str, values: pd.Series) -> str:
    return METRIC_BY_KEY[key].format(values[key])


def _sentence(text: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower "SIG Ville")."""
    return text[:1].upper() + text[1:]
