"""Carte des quartiers prioritaires (``/``): filters, headline figures, map, fact panel, table.

The URL describes the view (``ui.state``): it seeds the widgets when the page opens, and is
rewritten from them on every run, so that the address bar can always be shared.
"""

import math

import streamlit as st

from geo import generations, selection
from geo.format import fr_int, fr_number
from ui import downloads, mapview, panels, state
from ui.data import get_dataset
from ui.leaflet import BASEMAPS

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
  .st-key-carte_headline [data-testid="stHorizontalBlock"] { flex-wrap: wrap; gap: 0.5rem; }
  .st-key-carte_headline [data-testid="stColumn"] { min-width: calc(50% - 0.5rem) !important;
    flex: 1 1 calc(50% - 0.5rem) !important; }
  .st-key-carte_headline [data-testid="stMetricValue"] { font-size: 1.6rem; }
  .st-key-carte_headline [data-testid="stMetricLabel"] * { white-space: normal; }
  .st-key-carte_headline [data-testid="stCaptionContainer"] p { font-size: 0.8rem; }
}
</style>
"""

dataset = get_dataset()
catalogue = state.Catalogue.from_dataset(dataset)
url_view = state.read_view(catalogue)
pop_max = int(math.ceil(dataset.qpv["population"].max() / POP_STEP) * POP_STEP)
pop_steps = list(range(0, pop_max + 1, POP_STEP))


def _step_down(value: int) -> int:
    return min(value // POP_STEP * POP_STEP, pop_max)


def _step_up(value: int) -> int:
    return min(math.ceil(value / POP_STEP) * POP_STEP, pop_max)


def open_qpv(code: str | None) -> None:
    st.session_state[K_QPV] = code
    st.session_state[K_COMMUNE_PANEL] = None


def open_commune(code: str) -> None:
    st.session_state[K_QPV] = None
    st.session_state[K_COMMUNE_PANEL] = code


def open_in_other_generation(code: str) -> None:
    st.session_state[K_GEN] = catalogue.qpv_generation[code]
    open_qpv(code)


def follow_generation() -> None:
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


def map_clicked(kind: str, code: str) -> None:
    if kind == mapview.KIND_QPV:
        open_qpv(code)
    else:
        open_commune(code)


low, high = url_view.population
state.seed_widgets(
    {
        K_GEN: url_view.generation,
        K_COMMUNES: list(url_view.communes),
        K_QUERY: url_view.query,
        K_NEIGHBOURS: url_view.include_neighbouring,
        K_CHOROPLETH: url_view.choropleth,
        K_QPV: url_view.qpv,
        K_COMMUNE_PANEL: None,
    }
)

with st.sidebar:
    st.radio(
        "Périmètres",
        generations.ORDER,
        format_func=panels.GENERATION_LABELS.get,
        key=K_GEN,
        on_change=follow_generation,
    )
    generation = st.session_state[K_GEN]
    choices = selection.commune_choices(dataset.communes, generation)
    st.multiselect(
        "Communes",
        list(choices),
        format_func=choices.get,
        key=K_COMMUNES,
        placeholder="Toutes les communes",
    )
    st.text_input("Quartier (nom ou code)", key=K_QUERY, placeholder="ex. Cité 2, QP062025")
    # Seeded through ``value`` (a range), not the session state: select_slider decides from
    # its default value whether it returns a range. Its identity is its key: later runs keep
    # the user's choice.
    st.select_slider(
        "Population des quartiers (habitants)",
        pop_steps,
        value=(_step_down(low or 0), _step_up(pop_max if high is None else high)),
        format_func=fr_int,
        key=K_POP,
    )
    st.checkbox(
        "Montrer les quartiers voisins (hors contrat de ville)",
        key=K_NEIGHBOURS,
        help="Quartiers rattachés aussi à ce territoire par l'Insee mais relevant du contrat "
        "de ville d'un EPCI voisin.",
    )
    st.toggle("Colorer les communes selon la part d'habitants en quartier", key=K_CHOROPLETH)

pop_low, pop_high = st.session_state[K_POP]
view = state.ViewState(
    generation=generation,
    communes=tuple(st.session_state[K_COMMUNES]),
    qpv=st.session_state[K_QPV],
    include_neighbouring=st.session_state[K_NEIGHBOURS],
    query=st.session_state[K_QUERY].strip()[: state.MAX_QUERY_LENGTH],
    population=(pop_low or None, None if pop_high >= pop_max else pop_high),
    choropleth=st.session_state[K_CHOROPLETH],
)
selected = selection.select_qpv(dataset.qpv, view.filters)
summary = selection.summarize(
    selected, dataset.communes, generation=generation, commune_filter=view.communes
)

st.markdown(CSS, unsafe_allow_html=True)
st.title(f"Quartiers prioritaires — {dataset.territory_name}", anchor=False)
st.markdown(f"**{panels.GENERATION_LABELS[generation]}**")
with st.container(key="carte_headline"):
    panels.render_headline(summary, dataset)
if selected.empty:
    st.info("Aucun quartier ne correspond à ces filtres : élargissez la sélection.")

map_column, panel_column = st.columns([5, 3], gap="medium")
# The map goes first, so that the browser starts loading it first; the panel's toggle (drawn
# below) is read from the session state.
counterpart = catalogue.counterpart.get(view.qpv) if st.session_state.get(K_COUNTERPART) else None
with map_column:
    m = mapview.build_map(
        dataset, generation=generation, codes=list(selected["code"]), choropleth=view.choropleth
    )
    focus = mapview.focus_layer(dataset, view.qpv, counterpart=counterpart) if view.qpv else None
    mapview.show_map(m, focus=focus, on_select=map_clicked)
    notes = [
        "Fonds de carte : " + ", ".join(b.name for b in BASEMAPS) + " (bouton en haut à droite "
        "de la carte ; sans connexion, choisir « Sans fond de carte »)."
    ]
    if generation == 2024 and dataset.report["sources"]["qpv2024"]["source"] == (
        "qpv2024_simplified"
    ):
        notes.append(
            "Périmètres 2024 dessinés d'après une copie simplifiée (écart jusqu'à environ "
            f"{fr_int(dataset.tolerance_m(2024))} m) : voir « Sources et limites »."
        )
    st.caption(" ".join(notes))

with panel_column:
    st.selectbox(
        "Fiche d'un quartier",
        catalogue.quartiers(generation),
        format_func=lambda code: f"{catalogue.qpv_names[code]} ({code})",
        key=K_QPV,
        index=None,
        placeholder="Choisir un quartier…",
        on_change=close_commune,
    )
    commune = st.session_state[K_COMMUNE_PANEL] or (
        view.communes[0] if len(view.communes) == 1 else None
    )
    with st.container(border=True):
        if view.qpv:
            panels.render_qpv_panel(
                dataset,
                view.qpv,
                counterpart_toggle_key=K_COUNTERPART,
                on_open_counterpart=open_in_other_generation,
            )
        elif commune:
            panels.render_commune_panel(dataset, commune, generation, on_open_qpv=open_qpv)
        else:
            panels.render_territory_panel(
                dataset,
                selected,
                generation,
                commune_picker_key=K_COMMUNE_PICK,
                on_pick_commune=pick_commune,
            )

st.subheader("Tableau de la sélection", anchor=False)
table = selection.table_of(selected)
st.dataframe(
    table.style.format(
        {
            "Population": fr_int,
            "Superficie (ha)": lambda v: fr_number(v, 1),
            "Densité (hab./km²)": fr_int,
            "Évolution de la superficie 2015-2024 (%)": lambda v: fr_number(v, 1),
        },
        na_rep="—",
    ),
    hide_index=True,
    width="stretch",
)
downloads.csv_button(
    "Télécharger ce tableau (CSV)",
    table,
    f"quartiers-prioritaires-{dataset.siren}-{generation}.csv",
)

state.write_view(view)
