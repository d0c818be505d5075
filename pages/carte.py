"""Carte des quartiers prioritaires (``/``): filters, headline figures, map, fact panel, table.

The URL describes the view (``ui.state``): it seeds the widgets when the page opens, and is
rewritten from them on every run, so that the address bar can always be shared. A session's
first run shows the headline and the map only; the rest comes once the browser has drawn the
map (``ui.carte.first_screen``).
"""

from functools import partial

import streamlit as st

from geo import generations, selection
from geo.format import fr_distance, fr_int
from ui import derived, downloads, mapview, panels, state
from ui.carte import (
    CSS,
    K_CHOROPLETH,
    K_COMMUNE_PANEL,
    K_COMMUNE_PICK,
    K_COMMUNES,
    K_COUNTERPART,
    K_GEN,
    K_NEIGHBOURS,
    K_POP,
    K_QPV,
    K_QUERY,
    K_TABLE,
    close_commune,
    first_screen,
    follow_generation,
    map_clicked,
    map_drawn,
    open_in_other_generation,
    open_qpv,
    pick_commune,
    population_steps,
    step_down,
    step_up,
)
from ui.data import get_dataset
from ui.figures import render_html
from ui.leaflet import BASEMAPS

# The page's head: what a first run may write (the data check, a link's unknown values), then
# the title and headline, written once the map is on its way. In a container: the elements
# below keep their places from one run to the next, and the map, which the browser rebuilds
# when it moves, stays as it is.
header = st.container()
with header:
    dataset = get_dataset()
    catalogue = state.Catalogue.from_dataset(dataset)
    url_view = state.read_view(catalogue)
pop_steps = population_steps(dataset)
pop_max = pop_steps[-1]


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

# The map goes first in the script, so that its element reaches the browser first, and a
# session's first run stops after it and the headline (``first_screen``). The widgets' values
# are in the session state before the widgets are drawn (seeded above, or the user's); the
# population range is not on a first run (see below).
map_only = first_screen()
generation = st.session_state[K_GEN]
# Seeded through ``value`` (a range), not the session state: select_slider decides from its
# default value whether it returns a range. Its identity is its key: later runs keep the
# user's choice.
pop_default = (step_down(low or 0, pop_max), step_up(pop_max if high is None else high, pop_max))
pop_low, pop_high = st.session_state.get(K_POP, pop_default)
view = state.ViewState(
    generation=generation,
    communes=tuple(st.session_state[K_COMMUNES]),
    qpv=st.session_state[K_QPV],
    include_neighbouring=st.session_state[K_NEIGHBOURS],
    query=st.session_state[K_QUERY].strip()[: state.MAX_QUERY_LENGTH],
    population=(pop_low or None, None if pop_high >= pop_max else pop_high),
    choropleth=st.session_state[K_CHOROPLETH],
)
selected, summary = derived.selection_of(dataset, view.filters)  # kept per build and filters

map_column, panel_column = st.columns([5, 3], gap="medium")
# The map goes first, so that the browser starts loading it first; the panel's toggle (drawn
# below) is read from the session state.
counterpart = catalogue.counterpart.get(view.qpv) if st.session_state.get(K_COUNTERPART) else None
with map_column:
    spec = mapview.territory_map(
        dataset, generation=generation, codes=list(selected["code"]), choropleth=view.choropleth
    )
    if view.qpv:
        spec = spec.adding(mapview.focus_layer(dataset, view.qpv, counterpart=counterpart))
    mapview.show_map(spec, on_select=map_clicked, on_drawn=map_drawn if map_only else None)
    notes = [
        "Fonds de carte : " + ", ".join(b.name for b in BASEMAPS) + " (bouton en haut à droite "
        "de la carte ; sans connexion, choisir « Sans fond de carte »)."
    ]
    if generations.contours_simplified(dataset, generation):
        notes.append(
            f"Périmètres {generation} dessinés d'après une copie simplifiée (écart jusqu'à "
            f"environ {fr_distance(dataset.tolerance_m(generation))}) : voir « Sources et "
            "limites »."
        )
    st.caption(" ".join(notes))

with header:
    st.title(f"Quartiers prioritaires — {dataset.territory_name}", anchor=False)
    empty = "Aucun quartier ne correspond à ces filtres : élargissez la sélection."
    headline = panels.headline_html(summary, dataset, empty=empty if selected.empty else None)
    render_html(CSS + headline)  # with the page's style: one element, sent on every rerun

if map_only:
    # The rest of the page comes once the browser has drawn the map. The URL stays as the user
    # gave it until then: the next run reads it again and says what it cannot use.
    st.stop()

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
                on_open_counterpart=partial(open_in_other_generation, catalogue),
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

with st.sidebar:
    state.perimeters_radio(K_GEN, on_change=follow_generation, args=(catalogue,))
    choices = derived.commune_choices(dataset, generation)
    st.multiselect(
        "Communes",
        list(choices),
        format_func=choices.get,
        key=K_COMMUNES,
        placeholder="Toutes les communes",
    )
    st.text_input("Quartier (nom ou code)", key=K_QUERY, placeholder="ex. Cité 2, QP062025")
    st.select_slider(
        "Population des quartiers (habitants)",
        pop_steps,
        value=pop_default,
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

# The table is one click away: st.dataframe's code (1,5 MB of JavaScript) stays off the first
# visit, and the table is built only while it is open.
with st.expander(
    "Tableau de la sélection",  # a constant label: the table stays open when the filters change
    key=K_TABLE,
    on_change="rerun",
    icon=":material/table_view:",
) as table_box:
    if table_box.open:
        simplified = generations.simplified(dataset)
        table = selection.table_of(selected, simplified=simplified)
        st.dataframe(
            table.style.format(
                selection.table_formats(generation, simplified=simplified), na_rep="—"
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
