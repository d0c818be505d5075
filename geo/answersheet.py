"""« Télécharger le résultat (PDF) »: one A4 page answering « Suis-je en QPV ? » for a point.

The page holds the address as located (or the coordinates), a map extract with the perimeters
around the point, the verdict for 2024 then 2015 with distances, the 300 m / 500 m answers, the
perimeter versions and data sources, the date and time of the check, and the notice that the
answer is indicative, not a certificate (the SIG Ville is the official reference).

The map is ``geo.mapimage.point_map_png`` (the app's one visual language, no basemap: the file
is made offline), the page is ``geo._pdf.A4Page`` (shared with the sheets); the text comes from
:mod:`geo.verdict` and :mod:`geo.answer`, so the PDF says exactly what the page says. fpdf2's
plain-text API only: nothing from the address or the data is interpreted.
"""

from __future__ import annotations

import io
import urllib.parse

import pyproj
from fpdf.enums import XPos, YPos

from geo import generations
from geo._pdf import ACCENT, FONT, INK, MUTED, A4Page, section
from geo.answer import (
    NOTICE,
    SOURCE_ADDRESS,
    PointAnswer,
    checked_at_fr,
    nearest_address_sentence,
    point_origin,
    uncertainty,
)
from geo.coordinates import LAMBERT93, WGS84
from geo.format import fr_distance
from geo.geocoder import SERVICE_NAME, base_url
from geo.mapimage import MapLayers, point_map_png
from geo.sources import DATASETS
from geo.store import Dataset
from geo.verdict import bands_sentence, describe_verdict, headline

MARGIN_MM = 14.0
FOOTER_MM = 14.0
MAP_MM = (86.0, 86.0)
MAP_DPI = 200
MAP_HALF_SIDE_M = 650.0  # the 500 m circle and a margin
_TO_LAMBERT = pyproj.Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)


def answer_pdf(dataset: Dataset, answer: PointAnswer) -> bytes:
    """The one-page A4 PDF of an answer (see the module docstring for its content)."""
    pdf = A4Page(
        title="Résultat : le point est-il dans un quartier prioritaire ?",
        creator=f"Carte des quartiers prioritaires – {dataset.territory_name}",
        margin_mm=MARGIN_MM,
        footer_mm=FOOTER_MM,
    )
    pdf.footer_left = f"Vérification faite {checked_at_fr(answer.checked_at)} (heure de Paris)"
    pdf.footer_right = "Document indicatif, pas une attestation"
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
    pdf.set_text_color(*MUTED)
    in_force, previous = generations.IN_FORCE, generations.PREVIOUS
    pdf.multi_cell(
        MAP_MM[0],
        3,
        "Le point vérifié (rond bleu foncé), les cercles de 300 m et 500 m, les quartiers "
        f"prioritaires {in_force} (en couleur, celui du point en jaune cerclé de noir) et "
        f"{previous} (tirets bleus).",
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


def _header(pdf: A4Page, dataset: Dataset, answer: PointAnswer) -> None:
    pdf.set_font(FONT, "B", 15)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 7, "Suis-je dans un quartier prioritaire ?", new_x=XPos.LMARGIN)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*INK)
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


def _verdicts(pdf: A4Page, dataset: Dataset, answer: PointAnswer, *, x: float) -> None:
    width = pdf.w - pdf.r_margin - x
    for generation in generations.ORDER:
        verdict = answer.verdicts.get(generation)
        if verdict is None:
            continue
        pdf.set_x(x)
        pdf.set_font(FONT, "B", 9)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(width, 4.4, generations.NAMES[generation], new_x=XPos.LEFT)
        pdf.set_text_color(*INK)
        pdf.set_font(FONT, "B", 12 if generation == generations.ORDER[0] else 10)
        said = headline(verdict, territory_name=dataset.territory_name)
        pdf.multi_cell(width, 5.4, said + ".", new_x=XPos.LEFT)
        pdf.set_font(FONT, "", 8.5)
        doubt = uncertainty(
            verdict, answer.point, simplified=generations.contours_simplified(dataset, generation)
        )
        if doubt is not None:
            for reason in doubt.reasons:
                pdf.multi_cell(width, 4, f"• {_sentence(reason)}.", new_x=XPos.LEFT)
            pdf.multi_cell(width, 4, doubt.advice, new_x=XPos.LEFT)
            pdf.set_text_color(*ACCENT)
            pdf.multi_cell(width, 3.6, doubt.map_url, link=doubt.map_url, new_x=XPos.LEFT)
            pdf.set_text_color(*INK)
        distance = "0 m (dans le quartier)" if verdict.status == "in" else None
        if distance is None and verdict.nearest is not None:
            distance = f"{fr_distance(verdict.distance_m)} de {verdict.nearest.name}"
        if distance:
            pdf.multi_cell(
                width, 4, f"Distance au quartier le plus proche : {distance}.", new_x=XPos.LEFT
            )
        pdf.multi_cell(width, 4, bands_sentence(verdict), new_x=XPos.LEFT)
        pdf.ln(2)


def _details(pdf: A4Page, dataset: Dataset, answer: PointAnswer) -> None:
    _section(pdf, "Détail des réponses")
    pdf.set_font(FONT, "", 8)
    for generation in generations.ORDER:
        verdict = answer.verdicts.get(generation)
        if verdict is None:
            continue
        lines = describe_verdict(verdict)
        text = f"{generations.NAMES[generation]} : " + " ".join(lines)
        pdf.multi_cell(0, 3.8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(0.8)


def _sources(pdf: A4Page, dataset: Dataset, answer: PointAnswer) -> None:
    _section(pdf, "Périmètres et sources")
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(*MUTED)
    lines = []
    for generation in generations.ORDER:
        ds = DATASETS[f"qpv{generation}"]
        error = fr_distance(dataset.tolerance_m(generation))
        version = (
            f"copie simplifiée des contours officiels (écart jusqu'à environ {error})"
            if generations.contours_simplified(dataset, generation)
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
    pdf.set_text_color(*INK)


def _notice(pdf: A4Page) -> None:
    pdf.ln(2)
    pdf.set_draw_color(*ACCENT)
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(0, 4.6, NOTICE, border=1, padding=2, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _section(pdf: A4Page, title: str) -> None:
    pdf.ln(1)
    section(pdf, title, size=10.5)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# The map extract


def answer_map_png(dataset: Dataset, answer: PointAnswer) -> bytes:
    """The perimeters around the point, the 300 m and 500 m circles and the point (PNG)."""
    x, y = _TO_LAMBERT.transform(answer.point.lon, answer.point.lat)
    return point_map_png(
        MapLayers(dataset),
        x,
        y,
        concerned=sorted({m.code for v in answer.verdicts.values() for m in v.qpv}),
        half_side_m=MAP_HALF_SIDE_M,
        size_px=round(MAP_MM[0] / 25.4 * MAP_DPI),
        dpi=MAP_DPI,
    )
