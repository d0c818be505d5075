"""Widgets' keys, state and callbacks of the map page (``/``).

The page seeds its widgets from the URL (``ui.state``); these callbacks open a quartier's or a
commune's panel, keep an open quartier through a switch of perimeters (its counterpart), and
answer a click on the map. :data:`CSS` lets the map and its panel share the width.
"""

from __future__ import annotations

import math

import streamlit as st

from geo.store import Dataset
from ui import mapview, state
from ui.derived import per_build

K_GEN = "carte_gen"
K_COMMUNES = "carte_communes"
K_QUERY = "carte_recherche"
K_POP = "carte_pop"
K_NEIGHBOURS = "carte_voisins"
K_CHOROPLETH = "carte_part"
K_QPV = "carte_qpv"
K_COMMUNE_PANEL = "carte_fiche_commune"
K_COUNTERPART = "carte_autre_contour"
K_COMMUNE_PICK = "carte_choix_commune"
K_TABLE = "carte_tableau"  # the selection's table, opened on request
K_DRAWN = "carte_dessinee"
"""Session state: the browser has drawn the map once (see :func:`first_screen`)."""
POP_STEP = 500
# The map and its panel share the width (the default margins leave the map ~530 px wide at
# 1366 px); on a phone, the title and the headline figures shrink so that the map shows in
# the first screen. Constant CSS, scoped to this page's containers.
CSS = """
<style>
@media (min-width: 641px) {
  [data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 1.5rem;
    padding-right: 1.5rem; padding-top: 3.5rem; }
}
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-top: 3rem; }
  [data-testid="stMainBlockContainer"] h1 { font-size: 1.55rem; }
  .qpv-headline .qpv-figures { grid-template-columns: repeat(2, minmax(0, 1fr));
    row-gap: 0.5rem; }
  .qpv-headline .qpv-figure-value { font-size: 1.6rem; }
  /* the paragraph under the figures gives their years and sources in one sentence */
  .qpv-headline .qpv-figure-note { display: none; }
  .qpv-headline .qpv-headline-notes { font-size: 0.8rem; }
}
</style>
"""


@per_build()
def population_steps(dataset: Dataset) -> tuple[int, ...]:
    """The population slider's steps, from 0 to the largest quartier's, every ``POP_STEP``."""
    top = int(math.ceil(dataset.qpv["population"].max() / POP_STEP) * POP_STEP)
    return tuple(range(0, top + 1, POP_STEP))


def step_down(value: int, top: int) -> int:
    return min(value // POP_STEP * POP_STEP, top)


def step_up(value: int, top: int) -> int:
    return min(math.ceil(value / POP_STEP) * POP_STEP, top)


def open_qpv(code: str | None) -> None:
    st.session_state[K_QPV] = code
    st.session_state[K_COMMUNE_PANEL] = None


def open_commune(code: str) -> None:
    st.session_state[K_QPV] = None
    st.session_state[K_COMMUNE_PANEL] = code


def open_in_other_generation(catalogue: state.Catalogue, code: str) -> None:
    """The panel's « Ouvrir la fiche 2015 »: the map switches to that quartier's perimeters."""
    st.session_state[K_GEN] = catalogue.qpv_generation[code]
    open_qpv(code)


def follow_generation(catalogue: state.Catalogue) -> None:
    """An open quartier follows the switch to its counterpart in the other perimeters."""
    current = st.session_state.get(K_QPV)
    if current:
        st.session_state[K_QPV] = catalogue.counterpart.get(current)


def close_commune() -> None:
    st.session_state[K_COMMUNE_PANEL] = None


def pick_commune() -> None:
    """« Fiche d'une commune » in the territory's panel."""
    code = st.session_state[K_COMMUNE_PICK]
    st.session_state[K_COMMUNE_PICK] = None
    if code:
        open_commune(code)


def first_screen() -> bool:
    """Whether this run is the session's first screen: the headline and the map only.

    On a first visit the browser draws what the script sends in order, and the ~40 modules of
    the filters and the panel took the two cores the map needed (bench/bench_shell.py). The
    first run sends the map alone; the browser, once it has drawn the map (or found that it
    cannot), asks for the rest of the page (:func:`map_drawn`), whose widgets take their values
    from the session state, seeded from the URL.
    """
    return not st.session_state.get(K_DRAWN)


def map_drawn() -> None:
    st.session_state[K_DRAWN] = True


def map_clicked(kind: str, code: str) -> None:
    if kind == mapview.KIND_QPV:
        open_qpv(code)
    else:
        open_commune(code)
