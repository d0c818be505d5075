"""Download buttons for the printable exports: quartier and commune sheets, map, dossier.

Used by the map's panels and by the presentation page. The files are made only when the
button is clicked (Streamlit's deferred ``data=callable``), then cached for the day: showing the
buttons costs nothing, and a file always carries the date it was made. A click does not rerun
the page (``on_click="ignore"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import streamlit as st

from geo.factsheet import commune_sheet_pdf, dossier_order, dossier_pdf, factsheet_pdf
from geo.mapimage import map_png
from geo.store import Dataset
from ui.derived import quartier_codes

PNG_SIZE_PX = (1600, 1200)
PNG_DPI = 200
PDF_MIME = "application/pdf"


@st.cache_data(show_spinner=False, max_entries=64)
def _sheet(siren: str, code: str, day: date, *, _dataset: Dataset) -> bytes:
    # ``siren`` keys the cache (one dataset per territory); ``day`` dates the sheet.
    return factsheet_pdf(_dataset, code, made_on=day)


@st.cache_data(show_spinner=False, max_entries=64)
def _commune_sheet(siren: str, insee: str, generation: int, day: date, *, _dataset: Dataset):
    return commune_sheet_pdf(_dataset, insee, generation=generation, made_on=day)


@st.cache_data(show_spinner=False, max_entries=16)
def _dossier(siren: str, codes: tuple[str, ...], generation: int, day: date, *, _dataset):
    return dossier_pdf(_dataset, codes, generation=generation, made_on=day)


@st.cache_data(show_spinner=False, max_entries=64)
def _map(
    siren: str,
    quartiers: tuple[str, ...],
    communes: tuple[str, ...],
    named: tuple[str, ...],
    generation: int,
    day: date,
    *,
    _dataset: Dataset,
) -> bytes:
    width, height = PNG_SIZE_PX
    return map_png(
        _dataset,
        quartiers=quartiers,
        communes=communes,
        named=named,
        generation=generation,
        width_px=width,
        height_px=height,
        dpi=PNG_DPI,
        made_on=day,
    )


def quartier_sheet_button(dataset: Dataset, code: str, *, key: str, where=st) -> None:
    """« Fiche du quartier (PDF) »: one A4 page about quartier ``code``."""
    if code not in set(dataset.qpv["code"]):
        raise ValueError(f"unknown QPV code {code!r}")
    siren = dataset.siren
    _pdf_button(
        where,
        "Fiche du quartier (PDF)",
        lambda: _sheet(siren, code, date.today(), _dataset=dataset),
        file_name=f"fiche-quartier-{code}.pdf",
        key=f"{key}_pdf",
        tip="Une page A4 : carte, chiffres clés avec leurs années et sources, évolution 2015-2024.",
    )


def commune_sheet_button(
    dataset: Dataset, insee: str, generation: int, *, key: str, where=st
) -> None:
    """« Fiche de la commune (PDF) »: population, quartiers, share living in one."""
    if insee not in set(dataset.communes["code"]):
        raise ValueError(f"unknown commune code {insee!r}")
    siren = dataset.siren
    _pdf_button(
        where,
        "Fiche de la commune (PDF)",
        lambda: _commune_sheet(siren, insee, generation, date.today(), _dataset=dataset),
        file_name=f"fiche-commune-{insee}-{generation}.pdf",
        key=f"{key}_commune_pdf",
        tip="Une page A4 : la commune, ses quartiers, sa population et la part qui vit en "
        "quartier prioritaire, avec années et sources.",
    )


def dossier_button(
    dataset: Dataset, codes: Sequence[str], generation: int, *, key: str, where=st
) -> None:
    """« Dossier de séance (PDF) »: the overview, then one page per quartier of ``codes``."""
    codes = tuple(dict.fromkeys(codes))
    siren = dataset.siren
    _pdf_button(
        where,
        "Dossier de séance (PDF)",
        # Ordered when asked for: the tour's order costs ~0,1 s, too much for every rerun.
        lambda: _dossier(
            siren,
            dossier_order(dataset, codes, generation),
            generation,
            date.today(),
            _dataset=dataset,
        ),
        file_name=f"dossier-de-seance-{siren}-{generation}.pdf",
        key=f"{key}_dossier",
        tip=f"Un PDF de {len(codes) + 1} pages : la vue d'ensemble, puis une page par "
        "quartier de la sélection, dans l'ordre de la présentation.",
        icon=":material/menu_book:",
        disabled=not codes,
    )


def _pdf_button(where, label: str, data, *, file_name: str, key: str, tip: str, **options) -> None:
    where.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=PDF_MIME,
        key=key,
        help=tip,
        on_click="ignore",
        **{"icon": ":material/picture_as_pdf:", **options},
    )


def map_button(
    dataset: Dataset,
    *,
    key: str,
    generation: int,
    quartiers: Sequence[str] = (),
    communes: Sequence[str] = (),
    named: Sequence[str] | None = None,
    where=st,
) -> None:
    """« Carte (image PNG) » of a view: title, perimeters, date, legend and sources framed.

    ``quartiers`` are drawn as selected, ``communes`` in focus, ``named`` quartiers labelled
    (default: the selected ones); with none of them, the whole territory.
    """
    quartiers, communes = tuple(quartiers), tuple(communes)
    named = quartiers if named is None else tuple(named)
    # Checked now rather than when the file is asked for: a wrong view fails in the page.
    wrong = sorted(set(quartiers + named).difference(quartier_codes(dataset, generation)))
    if wrong:
        raise ValueError(f"quartiers {wrong} are not among the {generation} perimeters")
    siren = dataset.siren
    name = (quartiers or communes or (siren,))[0]
    where.download_button(
        "Carte (image PNG)",
        data=lambda: _map(
            siren, quartiers, communes, named, generation, date.today(), _dataset=dataset
        ),
        file_name=f"carte-{name}-{generation}.png",
        mime="image/png",
        key=f"{key}_png",
        icon=":material/image:",
        help="La carte de cette vue, en image, avec titre, date, légende et sources.",
        on_click="ignore",
    )
