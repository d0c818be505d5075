"""Printable sheets with no browser: A4 PDF pages and the « dossier de séance ».

- :func:`factsheet_pdf`: one A4 page about a quartier; :func:`commune_sheet_pdf`: one about a
  commune and its quartiers; :func:`dossier_pdf`: the territory's overview page, then one page
  per quartier of a selection, in the order of the presentation's tour.

Every figure comes from ``geo.facts`` with its year and source; maps come from
``geo.mapimage`` (one canvas per map size, shared by every page of an export), their legends
drawn here in vector form, in ``geo.style``'s colours and dashes. The PDF is written with fpdf2
and embeds the DejaVu Sans font bundled with matplotlib so that accents print; every string from
the data goes through fpdf's plain-text API (no HTML, no markdown), and numbers keep their
thousands together with narrow no-break spaces.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pandas as pd
from fpdf.enums import XPos, YPos

from geo import generations, style
from geo._pdf import A4_MM, ACCENT, FONT, INK, MUTED, A4Page, draw_legend, note, section, table
from geo.compare import change_table
from geo.errors import InputError
from geo.facts import FactBook
from geo.format import french_date
from geo.mapimage import MapCanvas, MapLayers, View, check_view
from geo.metrics import METRIC_BY_KEY
from geo.quartier import (
    HEADLINE,
    NO_YEAR,
    SHORT_SOURCES,
    Fact,
    Quartier,
    population_source,
    status_notes,
)
from geo.selection import tour
from geo.sources import DATASETS
from geo.store import Dataset

# The datasets a sheet names, perimeters in force first.
SHEET_SOURCES = ("qpv2024", "indicateurs2024", "qpv2015", "pop2013", "poplegales2023")

MARGIN_MM = 12.0
SHEET_MAP_MM = (88.0, 72.0)
OVERVIEW_MAP_MM = (186.0, 112.0)
FOOTER_MM = 16.0
SHEET_MAP_DPI = 200


def factsheet_pdf(data: Dataset, code: str, *, made_on: date | None = None) -> bytes:
    """The one-page A4 fact sheet of a quartier (code of either generation).

    It holds the title, a map of the quartier in its commune(s) with its legend, the key
    figures with their years and sources, the 2024 indicators, the change between the 2015
    and 2024 perimeters, the values missing or set aside, the date and the sources.

    Raises
    ------
    InputError
        For an unknown code.
    """
    book = _Book(data, made_on)
    generation = book.facts.quartiers.generation_of(code)
    pdf = book.new_pdf(f"Fiche du quartier {book.qpv_name(code)} ({code})", "Fiche établie")
    _quartier_page(pdf, book, code, generation)
    return bytes(pdf.output())


def commune_sheet_pdf(
    data: Dataset,
    insee: str,
    *,
    generation: int = generations.DEFAULT,
    made_on: date | None = None,
) -> bytes:
    """The one-page A4 sheet of a commune: population, quartiers, share living in one.

    Both generations' figures are given, the perimeters in force first; the map and the list
    of quartiers are those of ``generation``.

    Raises
    ------
    InputError
        For a commune outside the territory or an unknown generation.
    """
    book = _Book(data, made_on)
    name = book.commune_name(insee)
    pdf = book.new_pdf(f"Fiche de la commune {name} ({insee})", "Fiche établie")
    _commune_page(pdf, book, insee, generation)
    return bytes(pdf.output())


def dossier_order(data: Dataset, codes: Sequence[str], generation: int) -> tuple[str, ...]:
    """``codes`` in the order of the presentation's tour (commune by commune, by name).

    A quartier spanning several communes comes once, under its first commune; quartiers the
    tour does not visit (neighbouring ones) come last, in the order given.
    """
    wanted = list(dict.fromkeys(codes))
    order = [s.qpv for s in tour(data, generation) if s.qpv and s.qpv in wanted]
    order = list(dict.fromkeys(order))
    return tuple(order + [c for c in wanted if c not in order])


def dossier_pdf(
    data: Dataset, codes: Sequence[str], *, generation: int, made_on: date | None = None
) -> bytes:
    """The « dossier de séance »: the territory's overview, then one page per quartier.

    Parameters
    ----------
    data
        The loaded dataset.
    codes
        The quartiers of the current selection (of ``generation``); they are printed in the
        order of the tour (:func:`dossier_order`).
    generation
        The perimeters shown.
    made_on
        The date printed on every page (default: today).

    Raises
    ------
    InputError
        For an empty selection or a code not among the ``generation`` perimeters.
    """
    if not codes:
        raise InputError("aucun quartier dans la sélection : le dossier serait vide")
    check_view(data, View(named=tuple(codes), generation=generation))
    ordered = dossier_order(data, codes, generation)
    book = _Book(data, made_on)
    pdf = book.new_pdf(f"Dossier de séance – {data.territory_name}", "Dossier établi")
    _overview_page(pdf, book, generation, ordered)
    for code in ordered:
        _quartier_page(pdf, book, code, generation)
    return bytes(pdf.output())


class _Book:
    """What every page of one export shares: facts, shapes and map canvases, made once."""

    def __init__(self, data: Dataset, made_on: date | None = None):
        self.data = data
        self.made_on = made_on or date.today()
        self.facts = FactBook(data)
        self.layers = MapLayers(data)
        self.canvases: dict[tuple[int, tuple[float, float]], MapCanvas] = {}
        self.communes = data.communes.set_index("code")
        self._qpv = pd.DataFrame(data.qpv.drop(columns="geometry")).set_index("code")

    def new_pdf(self, title: str, made: str) -> A4Page:
        territory = f"{self.data.territory_name} (SIREN {self.data.siren})"
        pdf = _new_sheet(self.made_on, territory, made, title)
        pdf.footer_right = "Page {page}/{nb}"
        return pdf

    def qpv(self, code: str) -> pd.Series:
        return self._qpv.loc[code]

    def qpv_name(self, code: str) -> str:
        if code not in self._qpv.index:
            raise InputError(f"code de quartier inconnu : {code!r}")
        return str(self._qpv.loc[code, "name"])

    def commune_name(self, insee: str) -> str:
        if insee not in self.communes.index:
            raise InputError(f"commune hors du territoire : {insee!r}")
        return str(self.communes.loc[insee, "name"])

    def map_image(self, view: View, size_mm: tuple[float, float]) -> tuple[bytes, list[style.Kind]]:
        """The PNG of ``view`` at ``size_mm`` (on a canvas shared by same-sized maps), and the
        kinds of shapes it shows: its legend is drawn in the PDF, as text."""
        key = (view.generation, size_mm)
        if key not in self.canvases:
            width_px = round(size_mm[0] / 25.4 * SHEET_MAP_DPI)
            height_px = round(size_mm[1] / 25.4 * SHEET_MAP_DPI)
            self.canvases[key] = MapCanvas(
                self.layers,
                view.generation,
                width_px=width_px,
                height_px=height_px,
                dpi=SHEET_MAP_DPI,
            )
        return self.canvases[key].render(replace(view, legend=False))


def _new_sheet(made_on: date, territory: str, made: str, title: str) -> A4Page:
    """An A4 page whose footer carries the date it was made, the territory and the page mark."""
    pdf = A4Page(
        title=title,
        creator=f"Carte des quartiers prioritaires – {territory}",
        margin_mm=MARGIN_MM,
        footer_mm=FOOTER_MM,
    )
    pdf.footer_left = f"{made} le {french_date(made_on)} · {territory}"
    return pdf


# ---------------------------------------------------------------------------------------------
# Pages


def _quartier_page(pdf: A4Page, book: _Book, code: str, generation: int) -> None:
    data = book.data
    quartier = book.facts.quartier(code)
    pdf.add_page()
    _header(
        pdf,
        f"Quartier prioritaire de la politique de la ville – {data.territory_name}",
        quartier.name,
        f"Code {code} · {generations.LABELS[generation]} · {', '.join(quartier.commune_names)}",
        status_notes(quartier),
    )
    members = tuple(c for c in quartier.commune_codes if c not in quartier.outside_territory)
    # The title names the quartier: a label on the map would hide a small one.
    view = View(quartiers=(code,), communes=members, generation=generation)
    right_x, width, map_bottom = _map_beside(
        pdf, book, view, alt=f"Carte du quartier {quartier.name} dans sa commune"
    )
    section(pdf, "Chiffres clés", x=right_x, width=width)
    _facts_table(pdf, tuple(quartier.facts[k] for k in HEADLINE), x=right_x, width=width)
    pdf.set_y(max(pdf.get_y(), map_bottom) + 3)
    # The indicators are published for the perimeters in force: a previous quartier shows
    # those of its successor.
    with_indicators = quartier if quartier.indicators else None
    if with_indicators is None and quartier.counterpart:
        with_indicators = book.facts.quartier(quartier.counterpart)
    if with_indicators is not None:
        _indicators(pdf, with_indicators, shown_code=code)
    _change(pdf, book, code)
    _remarks(pdf, quartier, with_indicators)
    _sources(pdf, data)


def _commune_page(pdf: A4Page, book: _Book, insee: str, generation: int) -> None:
    data, facts = book.data, book.facts
    commune = book.communes.loc[insee]
    codes = facts.commune_quartiers(insee, generation)
    pdf.add_page()
    postal = str(commune["postal_codes"]).replace(",", ", ")
    _header(
        pdf,
        f"Commune – {data.territory_name}",
        book.commune_name(insee),
        f"Code Insee {insee} · code(s) postal(aux) {postal} · carte et liste : "
        f"{generations.LABELS[generation].lower()}",
        [],
    )
    view = View(communes=(insee,), generation=generation, named=codes)
    right_x, width, map_bottom = _map_beside(
        pdf, book, view, alt=f"Carte de la commune {commune['name']} et de ses quartiers"
    )
    for shown in generations.ORDER:
        section(pdf, f"Chiffres clés – {generations.SHORT_LABELS[shown]}", x=right_x, width=width)
        rows = facts.commune(insee, shown)
        if shown != generations.ORDER[0]:
            rows = rows[1:]  # the commune's population, given once
        _facts_table(pdf, rows, x=right_x, width=width)
        pdf.set_xy(right_x, pdf.get_y() + 2)
    pdf.set_y(max(pdf.get_y(), map_bottom) + 3)

    w = pdf.content_width
    section(pdf, f"Quartiers prioritaires de la commune – périmètres {generation}")
    if not codes:
        pdf.set_font(FONT, "", 8.5)
        pdf.multi_cell(
            0,
            4,
            f"Aucun quartier prioritaire du contrat de ville ({generation}).",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    else:
        lines = []
        for code in codes:
            population, area = facts.quartiers.facts(code, ("population", "area_ha"))
            lines.append(
                (
                    f"{code} – {book.qpv_name(code)}",
                    book.qpv(code)["commune_names"],
                    population.text,
                    population.provenance,
                    area.text,
                )
            )
        table(
            pdf,
            lines,
            widths=(w * 0.30, w * 0.22, w * 0.12, w * 0.24, w * 0.12),
            x=pdf.l_margin,
            header=("Quartier", "Commune(s)", "Population", "Année et source", "Surface"),
            align=("L", "L", "R", "L", "R"),
            size=8,
        )
        area_note = (
            f" ({generations.SIMPLIFIED_NOTE})"
            if generations.contours_simplified(data, generation)
            else ""
        )
        note(
            pdf,
            "La population d'un quartier sur plusieurs communes est celle du quartier "
            f"entier. Surfaces : périmètres {generation}, {SHORT_SOURCES['qpv']}{area_note}.",
        )
    pdf.ln(2)
    _sources(pdf, data)


def _overview_page(pdf: A4Page, book: _Book, generation: int, codes: Sequence[str]) -> None:
    data = book.data
    pdf.add_page()
    _header(
        pdf,
        f"Dossier de séance – {data.territory_name}",
        f"Quartiers prioritaires — {data.territory_name}",
        f"{generations.LABELS[generation]} · {len(codes)} quartier{'s' if len(codes) > 1 else ''}"
        ", une page chacun, dans l'ordre de la présentation (commune par commune)",
        [],
    )
    top = pdf.get_y() + 2
    view = View(generation=generation)
    _map(
        pdf,
        book,
        view,
        OVERVIEW_MAP_MM,
        x=MARGIN_MM,
        y=top,
        alt=f"Carte des quartiers prioritaires de {data.territory_name}",
    )
    section(pdf, "Chiffres clés du territoire")
    _facts_table(pdf, book.facts.territory(generation), x=pdf.l_margin, width=pdf.content_width)
    pdf.ln(2)
    section(pdf, "Sommaire")
    w = pdf.content_width
    entries = [
        (f"p. {page}", f"{book.qpv_name(code)} ({code}) – {book.qpv(code)['commune_names']}")
        for page, code in enumerate(codes, start=2)
    ]
    half = (len(entries) + 1) // 2
    left, right = entries[:half], entries[half:]
    rows = [(*a, *(right[i] if i < len(right) else ("", ""))) for i, a in enumerate(left)]
    table(pdf, rows, widths=(w * 0.07, w * 0.43, w * 0.07, w * 0.43), x=pdf.l_margin, size=7)


def _header(pdf: A4Page, kicker: str, title: str, subtitle: str, notes: list[str]) -> None:
    pdf.set_fill_color(*ACCENT)
    pdf.rect(0, 0, A4_MM[0], 4, style="F")
    pdf.set_y(MARGIN_MM - 2)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 5, kicker, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 18)
    pdf.multi_cell(0, 8, title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(0, 5, subtitle, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if notes:
        pdf.set_font(FONT, "", 8.5)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(0, 4, " ".join(notes), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)


def _map_beside(pdf: A4Page, book: _Book, view: View, *, alt: str) -> tuple[float, float, float]:
    """A sheet's map on the left, under the header; the cursor goes to the right column.

    Returns the right column's left edge and width, and the bottom of the map's legend.
    """
    top = pdf.get_y() + 2
    _map(pdf, book, view, SHEET_MAP_MM, x=MARGIN_MM, y=top, alt=alt)
    map_bottom = pdf.get_y()
    right_x = MARGIN_MM + SHEET_MAP_MM[0] + 6
    pdf.set_xy(right_x, top)
    return right_x, pdf.w - pdf.r_margin - right_x, map_bottom


def _map(pdf: A4Page, book: _Book, view: View, size_mm, *, x: float, y: float, alt: str) -> None:
    """The map image at (x, y), its legend drawn below it; the cursor ends under the legend."""
    png, kinds = book.map_image(view, size_mm)
    pdf.image(io.BytesIO(png), x=x, y=y, w=size_mm[0], h=size_mm[1], alt_text=alt)
    draw_legend(
        pdf, kinds, territory=book.data.territory_name, x=x, y=y + size_mm[1] + 1, width=size_mm[0]
    )


def _facts_table(pdf: A4Page, facts: Sequence[Fact], *, x: float, width: float) -> None:
    """Label, value, and « année et source » of each fact (with its caveat)."""
    rows = [(f.label, f.shown, f.provenance) for f in facts]
    table(
        pdf,
        rows,
        widths=(width * 0.28, width * 0.28, width * 0.44),
        x=x,
        header=("", "Valeur", "Année et source"),
        align=("L", "R", "L"),
        size=8,
    )


def _indicators(pdf: A4Page, quartier: Quartier, *, shown_code: str) -> None:
    values = quartier.facts
    generation = quartier.generation
    title = f"Indicateurs {generation}"
    if quartier.code != shown_code:
        title += f" (périmètre {generation} qui lui succède : {quartier.code})"
    section(pdf, title)
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
    table(
        pdf,
        rows,
        widths=(w * 0.32, w * 0.16, w * 0.34, w * 0.18),
        x=pdf.l_margin,
        align=("L", "R", "L", "R"),
    )
    table(pdf, [("Taille des ménages", sizes)], widths=(w * 0.32, w * 0.68), x=pdf.l_margin)
    youth = METRIC_BY_KEY["indice_jeunesse"]
    note(
        pdf,
        f"Source : {SHORT_SOURCES['indicateurs2024']}, {NO_YEAR}. "
        f"{youth.label} : {youth.help[0].lower()}{youth.help[1:]}",
    )
    pdf.ln(2)


def _change(pdf: A4Page, book: _Book, code: str) -> None:
    change = change_table(book.data, code)
    section(pdf, "Évolution entre les périmètres 2015 et 2024")
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
    table(
        pdf,
        rows,
        widths=(w * 0.17, w * 0.20, w * 0.20, w * 0.11, w * 0.32),
        x=pdf.l_margin,
        header=("", "Périmètre 2015", "Périmètre 2024", "Évolution", "Remarque"),
        align=("L", "L", "L", "R", "L"),
        size=8,
    )
    note(
        pdf,
        f"Sources : périmètres {SHORT_SOURCES['qpv']} ; "
        + " ; ".join(
            f"population {g} : {population_source(book.data, g)}"
            + ("" if generations.population_year(book.data, g) else f", {NO_YEAR}")
            for g in (generations.PREVIOUS, generations.IN_FORCE)
        )
        + ".",
    )
    pdf.ln(2)


def _remarks(pdf: A4Page, quartier: Quartier, with_indicators: Quartier | None) -> None:
    """Missing and flagged values of the quartier and of the one whose indicators it shows."""
    shown = [quartier]
    if with_indicators is not None and with_indicators.code != quartier.code:
        shown.append(with_indicators)
    lines = [f"{q.code} – {flag.text}" for q in shown for flag in q.flags]
    if not lines:
        return
    section(pdf, "Valeurs manquantes ou signalées")
    pdf.set_font(FONT, "", 7.5)
    for line in lines:
        pdf.multi_cell(0, 3.5, f"• {line}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _sources(pdf: A4Page, data: Dataset) -> None:
    lines = []
    for key in SHEET_SOURCES:
        dataset = DATASETS[key]
        line = f"{dataset.title} : {dataset.producer}, {dataset.vintage}."
        simplified = [g for g in generations.ORDER if generations.contours_simplified(data, g)]
        if key in {f"qpv{g}" for g in simplified}:
            line += (
                f" Copie simplifiée des périmètres ; surfaces et densités {key[3:]} : "
                f"{generations.SIMPLIFIED_NOTE}."
            )
        lines.append(line)
    section(pdf, "Sources et millésimes")
    pdf.set_font(FONT, "", 6.6)
    pdf.set_text_color(*MUTED)
    for line in lines:
        pdf.multi_cell(0, 2.9, f"• {line}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)


def _title(key: str) -> str:
    return METRIC_BY_KEY[key].label


def _value(key: str, values) -> str:
    return values[key].shown  # a flagged value as published, marked: its reason is in the remarks
