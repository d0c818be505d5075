"""« Télécharger le résultat (PDF) »: one A4 page answering « Suis-je en QPV ? » for a point.

The page holds the address as located (or the coordinates), a map extract with the perimeters
around the point, the verdict for 2024 then 2015 with distances, the 300 m / 500 m answers, the
perimeter versions and data sources, the date and time of the check, and the notice that the
answer is indicative, not a certificate (the SIG Ville is the official reference).

The map is drawn with matplotlib's object API from the Lambert-93 perimeters (no basemap: the
file is made offline); the text comes from :mod:`geo.answer`, so the PDF says exactly what the
page says. fpdf2's plain-text API only: nothing from the address or the data is interpreted.
"""

from __future__ import annotations

import io
import urllib.parse

import pyproj
import shapely
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo.answer import (
    NOTICE,
    SOURCE_ADDRESS,
    PointAnswer,
    checked_at_fr,
    headline,
    nearest_address_sentence,
    perimeters_simplified,
    point_origin,
    uncertainty,
)
from geo.batch import GENERATION_NAMES, GENERATIONS, bands_sentence, describe_verdict
from geo.build import LAMBERT93
from geo.factsheet import ACCENT, FONT, FONT_BOLD, FONT_REGULAR
from geo.format import fr_distance
from geo.geocode import SERVICE_NAME, base_url
from geo.locate import BAND_FAR_M, BAND_NEAR_M
from geo.sources import DATASETS
from geo.store import Dataset
from geo.style import COMMUNE, CONTRACT, PAPER_COMMUNE_FILL, SELECTED, TEXT

MARGIN_MM = 14.0
FOOTER_MM = 14.0
MAP_MM = (86.0, 86.0)
MAP_DPI = 200
MAP_HALF_SIDE_M = 650.0  # the 500 m circle and a margin
POINT_COLOUR = "#000091"
PERIMETERS_2015 = "#0072B2"
MAP_CREDIT = "Périmètres : ANCT ; communes : IGN ADMIN EXPRESS (contours simplifiés)"
_TO_LAMBERT = pyproj.Transformer.from_crs("EPSG:4326", LAMBERT93, always_xy=True)


def answer_pdf(dataset: Dataset, answer: PointAnswer) -> bytes:
    """The one-page A4 PDF of an answer (see the module docstring for its content)."""
    pdf = _Page(checked_at_fr(answer.checked_at))
    pdf.set_title("Résultat : le point est-il dans un quartier prioritaire ?")
    pdf.add_page()
    _header(pdf, dataset, answer)
    top = pdf.get_y() + 1
    pdf.image(
        io.BytesIO(answer_map_png(dataset, answer)),
        x=MARGIN_MM,
        y=top,
        w=MAP_MM[0],
        h=MAP_MM[1],
        alt_text="Carte des quartiers prioritaires autour du point vérifié",
    )
    pdf.set_xy(MARGIN_MM, top + MAP_MM[1] + 0.5)
    pdf.set_font(FONT, "", 6.5)
    pdf.set_text_color(64, 64, 64)
    pdf.multi_cell(
        MAP_MM[0],
        3,
        "Le point vérifié (rond bleu foncé), les cercles de 300 m et 500 m, les quartiers "
        "prioritaires 2024 (en couleur, celui du point en orange) et 2015 (tirets bleus).",
    )
    map_bottom = pdf.get_y()
    right = MARGIN_MM + MAP_MM[0] + 6
    pdf.set_xy(right, top)
    _verdicts(pdf, dataset, answer, x=right)
    pdf.set_y(max(pdf.get_y(), map_bottom) + 3)
    _details(pdf, dataset, answer)
    _sources(pdf, dataset, answer)
    _notice(pdf)
    return bytes(pdf.output())


class _Page(FPDF):
    """A4 portrait with the DejaVu fonts and a footer carrying the date and time of the check."""

    def __init__(self, checked: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.checked = checked
        self.add_font(FONT, "", str(FONT_REGULAR))
        self.add_font(FONT, "B", str(FONT_BOLD))
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        # Content running into the footer starts a second page: the tests catch it.
        self.set_auto_page_break(True, margin=FOOTER_MM)
        self.set_lang("fr-FR")
        self.set_creator("Carte des quartiers prioritaires – Lens-Liévin")

    def multi_cell(self, *args, align="L", **kwargs):  # ragged right, never justified
        return super().multi_cell(*args, align=align, **kwargs)

    def footer(self) -> None:
        self.set_y(-FOOTER_MM + 3)
        self.set_draw_color(*ACCENT)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(FONT, "", 7.5)
        self.set_text_color(64, 64, 64)
        self.cell(0, 5, f"Vérification faite {self.checked} (heure de Paris)", align="L")
        self.cell(0, 5, "Document indicatif, pas une attestation", align="R")


def _header(pdf: _Page, dataset: Dataset, answer: PointAnswer) -> None:
    pdf.set_font(FONT, "B", 15)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 7, "Suis-je dans un quartier prioritaire ?", new_x=XPos.LMARGIN)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(22, 22, 22)
    pdf.multi_cell(
        0,
        4.3,
        f"Quartiers prioritaires de la politique de la ville de la {dataset.territory_name}.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(1.5)
    pdf.set_font(FONT, "B", 9.5)
    pdf.multi_cell(0, 4.6, point_origin(answer.point), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if answer.nearest_address is not None:
        pdf.set_font(FONT, "", 8.5)
        pdf.multi_cell(
            0,
            4.2,
            nearest_address_sentence(answer.nearest_address),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    if answer.point.in_territory is False:
        pdf.set_font(FONT, "", 8.5)
        pdf.multi_cell(
            0,
            4.2,
            f"Cette adresse n'est pas dans une commune de la {dataset.territory_name}.",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )


def _verdicts(pdf: _Page, dataset: Dataset, answer: PointAnswer, *, x: float) -> None:
    width = pdf.w - pdf.r_margin - x
    for generation in GENERATIONS:
        verdict = answer.verdicts.get(generation)
        if verdict is None:
            continue
        pdf.set_x(x)
        pdf.set_font(FONT, "B", 9)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(width, 4.4, GENERATION_NAMES[generation], new_x=XPos.LEFT)
        pdf.set_text_color(22, 22, 22)
        pdf.set_font(FONT, "B", 12 if generation == GENERATIONS[0] else 10)
        said = headline(verdict, territory_name=dataset.territory_name)
        pdf.multi_cell(width, 5.4, said + ".", new_x=XPos.LEFT)
        pdf.set_font(FONT, "", 8.5)
        doubt = uncertainty(
            verdict, answer.point, simplified=perimeters_simplified(dataset, generation)
        )
        if doubt is not None:
            for reason in doubt.reasons:
                pdf.multi_cell(width, 4, f"• {_sentence(reason)}.", new_x=XPos.LEFT)
            pdf.multi_cell(width, 4, doubt.advice, new_x=XPos.LEFT)
            pdf.set_text_color(*ACCENT)
            pdf.multi_cell(width, 3.6, doubt.map_url, link=doubt.map_url, new_x=XPos.LEFT)
            pdf.set_text_color(22, 22, 22)
        distance = "0 m (dans le quartier)" if verdict.status == "in" else None
        if distance is None and verdict.nearest is not None:
            distance = f"{fr_distance(verdict.distance_m)} de {verdict.nearest.name}"
        if distance:
            pdf.multi_cell(
                width, 4, f"Distance au quartier le plus proche : {distance}.", new_x=XPos.LEFT
            )
        pdf.multi_cell(width, 4, bands_sentence(verdict), new_x=XPos.LEFT)
        pdf.ln(2)


def _details(pdf: _Page, dataset: Dataset, answer: PointAnswer) -> None:
    _section(pdf, "Détail des réponses")
    pdf.set_font(FONT, "", 8)
    for generation in GENERATIONS:
        verdict = answer.verdicts.get(generation)
        if verdict is None:
            continue
        lines = describe_verdict(verdict)
        text = f"{GENERATION_NAMES[generation]} : " + " ".join(lines)
        pdf.multi_cell(0, 3.8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(0.8)


def _sources(pdf: _Page, dataset: Dataset, answer: PointAnswer) -> None:
    _section(pdf, "Périmètres et sources")
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(64, 64, 64)
    lines = []
    for generation in (2024, 2015):
        ds = DATASETS[f"qpv{generation}"]
        error = fr_distance(dataset.tolerance_m(generation))
        version = (
            f"copie simplifiée des contours officiels (écart jusqu'à environ {error})"
            if perimeters_simplified(dataset, generation)
            else f"contours officiels (précision d'environ {error})"
        )
        lines.append(f"{ds.title} : {ds.producer}, {ds.vintage} ; {version}.")
    if answer.point.source == SOURCE_ADDRESS or answer.nearest_address is not None:
        host = urllib.parse.urlsplit(base_url()).netloc
        lines.append(
            f"Adresse localisée par {SERVICE_NAME} ({host}), d'après la Base Adresse Nationale ; "
            "position et score tels que renvoyés par le service."
        )
    contours = DATASETS["contours_communes"]
    lines.append(f"{contours.title} : {contours.producer}, {contours.vintage}.")
    for line in lines:
        pdf.multi_cell(0, 3.5, f"• {line}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(22, 22, 22)


def _notice(pdf: _Page) -> None:
    pdf.ln(2)
    pdf.set_draw_color(*ACCENT)
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(0, 4.6, NOTICE, border=1, padding=2, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _section(pdf: _Page, title: str) -> None:
    pdf.ln(1)
    pdf.set_font(FONT, "B", 10.5)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 5.5, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(22, 22, 22)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# The map extract


def answer_map_png(dataset: Dataset, answer: PointAnswer) -> bytes:
    """The perimeters around the point, the 300 m and 500 m circles and the point (PNG)."""
    x, y = _TO_LAMBERT.transform(answer.point.lon, answer.point.lat)
    size_px = round(MAP_MM[0] / 25.4 * MAP_DPI)
    fig = Figure(figsize=(size_px / MAP_DPI, size_px / MAP_DPI), dpi=MAP_DPI, facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    half = MAP_HALF_SIDE_M
    ax.set_xlim(x - half, x + half)
    ax.set_ylim(y - half, y + half)
    ax.set_aspect("equal")
    ax.set_axis_off()
    view = shapely.box(x - half, y - half, x + half, y + half)

    communes = dataset.communes.to_crs(LAMBERT93)
    communes = communes[communes.intersects(view)]
    if not communes.empty:
        communes.plot(ax=ax, facecolor=PAPER_COMMUNE_FILL, edgecolor=COMMUNE.stroke, linewidth=0.6)
    concerned = {m.code for v in answer.verdicts.values() for m in v.qpv}
    q24 = dataset.qpv_of(2024)
    q24 = q24[q24.intersects(view)]
    mine = q24[q24["code"].isin(concerned)]
    others = q24[~q24["code"].isin(concerned)]
    if not others.empty:
        others.plot(
            ax=ax, facecolor=CONTRACT.fill, edgecolor=CONTRACT.stroke, linewidth=0.8, alpha=0.55
        )
    if not mine.empty:
        mine.plot(
            ax=ax, facecolor=SELECTED.fill, edgecolor=SELECTED.stroke, linewidth=1.2, alpha=0.75
        )
    q15 = dataset.qpv_of(2015)
    q15 = q15[q15.intersects(view)]
    if not q15.empty:
        q15.boundary.plot(ax=ax, color=PERIMETERS_2015, linewidth=1.3, linestyle=(0, (4, 2)))
    for radius, style in ((BAND_NEAR_M, (0, (6, 4))), (BAND_FAR_M, (0, (2, 4)))):
        ring = shapely.Point(x, y).buffer(radius, quad_segs=32).exterior
        ax.plot(*ring.xy, color="#161616", linewidth=0.9, linestyle=style)
        ax.annotate(
            f"{int(radius)} m",
            (x, y + radius),
            ha="center",
            va="bottom",
            fontsize=6,
            color=TEXT,
            path_effects=[patheffects.withStroke(linewidth=2, foreground="white")],
        )
    ax.plot([x], [y], marker="o", markersize=8, color=POINT_COLOUR, markeredgecolor="white",
            markeredgewidth=1.8)  # fmt: skip
    ax.legend(
        handles=[
            Line2D([], [], marker="o", color=POINT_COLOUR, linestyle="", label="Point vérifié"),
            Patch(
                facecolor=SELECTED.fill, edgecolor=SELECTED.stroke, label="Quartier 2024 du point"
            ),
            Patch(
                facecolor=CONTRACT.fill,
                edgecolor=CONTRACT.stroke,
                alpha=0.55,
                label="Quartiers 2024",
            ),
            Line2D([], [], color=PERIMETERS_2015, linestyle="--", label="Quartiers 2015"),
        ],
        loc="upper left",
        fontsize=5.5,
        framealpha=0.9,
        edgecolor="#8C8C8C",
    )
    ax.plot([x - half * 0.92, x - half * 0.92 + 200], [y - half * 0.9] * 2, color="black",
            linewidth=3, solid_capstyle="butt")  # fmt: skip
    ax.text(x - half * 0.92 + 100, y - half * 0.87, "200 m", ha="center", va="bottom",
            fontsize=6)  # fmt: skip
    ax.text(x + half * 0.98, y - half * 0.98, MAP_CREDIT, ha="right", va="bottom", fontsize=4.5,
            color="#404040")  # fmt: skip
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=MAP_DPI)
    return buffer.getvalue()
