"""Download buttons for a quartier's PDF fact sheet and for a PNG map of a view.

Used by the map's fact panel and by the presentation page. The files are made only when the
button is clicked (Streamlit's deferred ``data=callable``), then cached for the day: showing the
buttons costs nothing, and a sheet always carries the date it was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import streamlit as st

from geo.factsheet import factsheet_pdf, map_png
from geo.store import Dataset

PNG_SIZE_PX = (1600, 1200)
PNG_DPI = 200


@st.cache_data(show_spinner=False, max_entries=64)
def _sheet(siren: str, code: str, day: date, *, _dataset: Dataset) -> bytes:
    # ``siren`` keys the cache (one dataset per territory); ``day`` dates the sheet.
    return factsheet_pdf(_dataset, code, made_on=day)


@st.cache_data(show_spinner=False, max_entries=64)
def _map(
    siren: str,
    quartiers: tuple[str, ...],
    communes: tuple[str, ...],
    generation: int,
    *,
    _dataset: Dataset,
) -> bytes:
    width, height = PNG_SIZE_PX
    return map_png(
        _dataset,
        quartiers=quartiers,
        communes=communes,
        generation=generation,
        width_px=width,
        height_px=height,
        dpi=PNG_DPI,
    )


def factsheet_buttons(
    dataset: Dataset,
    *,
    key: str,
    code: str | None = None,
    quartiers: Sequence[str] | None = None,
    communes: Sequence[str] | None = None,
    generation: int | None = None,
) -> None:
    """Show "fiche PDF" and "carte PNG" download buttons side by side.

    Parameters
    ----------
    dataset
        The loaded dataset (``ui.data.get_dataset()``).
    key
        Prefix of the widget keys; unique on the page.
    code
        Quartier (either generation) whose one-page PDF sheet is offered; no PDF button when
        None.
    quartiers, communes, generation
        The view drawn in the PNG. By default: ``code`` in its commune(s), on the perimeters
        of its generation; with neither ``code`` nor a view, the whole territory.
    """
    qpv = dataset.qpv.set_index("code")
    if code is not None and code not in qpv.index:
        raise ValueError(f"unknown QPV code {code!r}")
    if generation is None:
        generation = int(qpv.loc[code, "generation"]) if code else 2024
    if quartiers is None:
        quartiers = (code,) if code else ()
    if communes is None:
        known = set(dataset.communes["code"])
        members = qpv.loc[code, "commune_codes"].split(",") if code else []
        communes = [c for c in members if c in known]
    quartiers, communes = tuple(quartiers), tuple(communes)
    # Checked now rather than when the file is asked for: a wrong view fails in the page.
    wrong = sorted(set(quartiers) - set(dataset.qpv_of(generation)["code"]))
    if wrong:
        raise ValueError(f"quartiers {wrong} are not among the {generation} perimeters")
    siren = dataset.siren
    png_name = (quartiers or communes or (siren,))[0]

    columns = st.columns(2) if code else [st.container()]
    if code:
        with columns[0]:
            st.download_button(
                "Fiche du quartier (PDF)",
                data=lambda: _sheet(siren, code, date.today(), _dataset=dataset),
                file_name=f"fiche-quartier-{code}.pdf",
                mime="application/pdf",
                key=f"{key}_pdf",
                icon=":material/picture_as_pdf:",
                help="Une page A4 : carte, chiffres clés avec leurs années et sources, "
                "évolution 2015-2024.",
                on_click="ignore",
            )
    with columns[-1]:
        st.download_button(
            "Carte (image PNG)",
            data=lambda: _map(siren, quartiers, communes, generation, _dataset=dataset),
            file_name=f"carte-{png_name}-{generation}.png",
            mime="image/png",
            key=f"{key}_png",
            icon=":material/image:",
            help="La carte de cette vue, en image, pour un document ou une présentation.",
            on_click="ignore",
        )
