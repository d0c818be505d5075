"""/presentation: meeting mode for a projector, stepping through the territory.

The steps: the territory, then each commune holding a quartier followed by its quartiers. Every
step has its own URL, in the map's words (``?commune=62498&qpv=QP062024``, ``&gen=2024``), so a
step can be opened directly or bookmarked; ``?etape=23`` opens the 23rd step too. « Accueil »,
« Précédent » and « Suivant » (or the Home, Page Up and Page Down keys of a keyboard or a
presentation remote) rewrite it; « Aller à… » finds a commune or a quartier by its name, with or
without accents.

The page fits the screen without scrolling from 1024×768 to 1920×1080: a CSS block scoped to
this page sizes the map from the window's height and keeps the controls on one line.
"""

from functools import partial

import streamlit as st

from geo import generations
from geo.selection import find_step
from ui import derived, mapview, state
from ui.data import get_dataset
from ui.factsheet_buttons import (
    commune_sheet_button,
    dossier_button,
    map_button,
    quartier_sheet_button,
)
from ui.figures import fact_book, render_figures
from ui.markdown import escape_markdown
from ui.presentation import (
    CSS,
    K_GEN,
    KEYS_HELP,
    MAP_HEIGHT,
    ROOT_KEY,
    SOURCES,
    change_generation,
    describe,
    go_to,
    jump_panel,
    map_clicked,
    step_buttons,
    step_index,
    step_view,
    tour_names,
)

with st.container():  # a first run's data check: the map below keeps its place (see carte.py)
    data = get_dataset()
catalogue = state.Catalogue.from_dataset(data)
book = fact_book(data)
st.markdown(CSS, unsafe_allow_html=True)  # constant CSS only: no data in it

with st.container(key=ROOT_KEY):
    with st.container():  # a link's messages: the map below keeps its place (see carte.py)
        view = state.read_view(catalogue)
        generation = view.generation
        steps = derived.tour(data, generation)  # kept per build and generation
        index = step_index(steps, view)
    step = steps[index]
    state.write_view(step_view(step, generation))

    tour_communes, tour_quartiers = tour_names(data, steps, generation)
    title, where, shown = describe(data, step, generation, tour_quartiers)
    with st.container(
        horizontal=True, key=f"{ROOT_KEY}_toolbar", vertical_alignment="center", gap="small"
    ):
        step_buttons(steps, index, generation)
        # Keyed by the step: after a jump, the new step's popover starts closed.
        with st.popover("Aller à…", icon=":material/search:", key=f"presentation_jump_{index}"):
            jump_panel(steps, tour_communes, tour_quartiers, generation)
        with st.popover("Exporter", icon=":material/download:", key="presentation_export"):
            if step.qpv:
                quartier_sheet_button(data, step.qpv, key=ROOT_KEY)
            elif step.commune:
                commune_sheet_button(data, step.commune, generation, key=ROOT_KEY)
            map_button(
                data,
                key=ROOT_KEY,
                generation=generation,
                quartiers=[step.qpv] if step.qpv else [],
                communes=[step.commune] if step.commune else [],
                named=shown if step.commune else (),
            )
            dossier_button(data, list(tour_quartiers), generation, key=ROOT_KEY)
        st.page_link(
            "pages/carte.py",
            label="Quitter",
            icon=":material/close:",
            query_params=state.to_params(step_view(step, generation)),
            help="Quitter la présentation : la carte, sur la même vue",
        )

    heading, perimeters = st.columns([5, 1.4], gap="medium", vertical_alignment="top")
    with heading, st.container(key=f"{ROOT_KEY}_heading"):
        st.title(escape_markdown(title), anchor=False)
        st.caption(
            f"{where} · étape {index + 1} sur {len(steps)} · {generations.LABELS[generation]}"
        )
    with perimeters:
        st.session_state[K_GEN] = generation  # the URL decides
        state.perimeters_radio(
            K_GEN,
            labels=generations.SHORT_LABELS.__getitem__,
            on_change=change_generation,
            args=(step, catalogue),
        )

    map_column, panel_column = st.columns([3, 2], gap="medium")
    with panel_column, st.container(key=f"{ROOT_KEY}_panel"):
        if step.qpv:
            quartier = book.quartier(step.qpv)
            render_figures(quartier.headline)
            st.markdown(f"Commune(s) : {escape_markdown(', '.join(quartier.commune_names))}")
            if quartier.remarks:
                st.caption(escape_markdown(quartier.remarks))
        elif step.commune:
            render_figures(book.commune(step.commune, generation))
            with st.container(gap=None, key=f"{ROOT_KEY}_quartiers"):
                for code in shown:
                    position = find_step(steps, commune=step.commune, qpv=code)
                    st.button(
                        escape_markdown(book.quartier(code).name),
                        key=f"presentation_to_{code}",
                        on_click=go_to,
                        args=(steps[position], generation),
                        icon=":material/arrow_forward:",
                        type="tertiary",
                        wrap=True,
                    )
        else:
            render_figures(book.territory(generation))
            st.markdown(
                f"Présentation pas à pas en {len(steps)} étapes : chaque commune qui compte un "
                "quartier prioritaire, puis ses quartiers."
            )
    with map_column, st.container(key=f"{ROOT_KEY}_map"):
        spec = mapview.territory_map(
            data, generation=generation, codes=shown, legend_selected=bool(step.qpv)
        )
        if step.qpv:
            spec = spec.adding(mapview.focus_layer(data, step.qpv))
        mapview.show_map(
            spec,
            on_select=partial(map_clicked, steps=steps, current=step, generation=generation),
            key="presentation_carte",  # "presentation_map" is its container's key
            height=MAP_HEIGHT,
        )

    with st.container(key=f"{ROOT_KEY}_footer"):
        st.caption(f"{KEYS_HELP} {SOURCES}")
