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

from geo import compare, generations
from ui import mapview, state
from ui.data import get_dataset
from ui.factsheet_buttons import (
    commune_sheet_button,
    dossier_button,
    map_button,
    quartier_sheet_button,
)
from ui.figures import fact_book, render_figures
from ui.panels import escape_markdown

ROOT_KEY = "presentation"
STEP_PARAM = "etape"
K_GEN = "presentation_gen"
K_SEARCH = "presentation_search"
K_JUMP_COMMUNE = "presentation_jump_commune"
K_JUMP_QPV = "presentation_jump_qpv"
# Height of everything but the map (controls, title, perimeters line, margins): the map takes
# the rest of the window. Measured by tests/test_browser_presentation.py at four sizes.
CHROME_PX = 262
KEYS_HELP = (
    "Clavier ou télécommande de présentation : Page suivante → étape suivante, Page "
    "précédente → étape précédente, Début → accueil ; Tab puis Entrée pour tout bouton. "
    "Un clic sur la carte va au quartier ou à la commune."
)
SOURCES = "Sources : Insee, ANCT ; détail et limites sur la page « Sources et limites »."
# Scoped to the page's containers (Streamlit gives them the class st-key-<key>), except the
# sidebar and the header, hidden while this page is shown: « Quitter » replaces them.
CSS = f"""
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stHeader"] {{ display: none; }}
[data-testid="stMainBlockContainer"] {{ max-width: 100%; padding: 0.6rem 1.5rem 0.4rem; }}
.st-key-{ROOT_KEY} {{ color: #000000; gap: 0.5rem; }}
.st-key-{ROOT_KEY} h1 {{ font-size: clamp(1.6rem, 2.5vw, 2.6rem); line-height: 1.12;
  padding: 0 0 0.15rem 0; color: #000000; }}
.st-key-{ROOT_KEY}_heading {{ gap: 0.2rem; }}
.st-key-{ROOT_KEY}_heading [data-testid="stMarkdownContainer"] {{ margin-bottom: 0; }}
.st-key-{ROOT_KEY} [data-testid="stCaptionContainer"] {{ opacity: 1; }}
.st-key-{ROOT_KEY} [data-testid="stCaptionContainer"] p {{ font-size: 1rem; color: #2A2A2A; }}
.st-key-{ROOT_KEY}_toolbar button, .st-key-{ROOT_KEY}_toolbar a {{ min-height: 2.6rem;
  border-width: 2px; white-space: nowrap; }}
.st-key-{ROOT_KEY}_toolbar button p, .st-key-{ROOT_KEY}_toolbar a p,
.st-key-{ROOT_KEY}_toolbar a span {{ font-size: 1.15rem; white-space: nowrap;
  overflow: visible; text-overflow: clip; }}
/* The keys are written out in French below the map: no English key names in the buttons. */
.st-key-{ROOT_KEY}_toolbar kbd {{ display: none; }}
.st-key-{ROOT_KEY}_map iframe {{ height: calc(100vh - {CHROME_PX}px) !important;
  min-height: 300px; }}
.st-key-{ROOT_KEY}_panel p, .st-key-{ROOT_KEY}_panel li {{ font-size: 1.15rem;
  line-height: 1.35; }}
.st-key-{ROOT_KEY}_panel button p {{ font-size: 1.05rem; }}
.st-key-{ROOT_KEY}_panel [data-testid="stCaptionContainer"] p {{ font-size: 0.85rem;
  line-height: 1.3; }}
.st-key-{ROOT_KEY}_footer [data-testid="stCaptionContainer"] p {{ font-size: 0.9rem;
  line-height: 1.3; }}
.st-key-{ROOT_KEY} :focus-visible {{ outline: 4px solid #000000 !important;
  outline-offset: 3px; }}
</style>
"""


def step_view(step: compare.Step, generation: int) -> state.ViewState:
    """The map's view of one step (its URL)."""
    return state.ViewState(
        generation=generation,
        communes=(step.commune,) if step.commune else (),
        qpv=step.qpv,
    )


def go_to(step: compare.Step, generation: int) -> None:
    st.query_params.from_dict(state.to_params(step_view(step, generation)))


def step_index(steps: tuple[compare.Step, ...], view: state.ViewState) -> int:
    """The step in the URL: ``?etape=N`` first, else the commune and quartier."""
    raw = st.query_params.get(STEP_PARAM)
    if raw is not None:
        text = raw.strip()
        if text.isdigit() and 1 <= int(text) <= len(steps):
            return int(text) - 1
        st.warning(
            f"Étape inconnue : « {state.quote(text)} ». La présentation a {len(steps)} "
            f"étapes (de 1 à {len(steps)}).",
            icon=":material/link_off:",
        )
    commune = view.communes[0] if view.communes else None
    return compare.find_step(steps, commune=commune, qpv=view.qpv)


def map_clicked(
    kind: str, code: str, *, steps: tuple[compare.Step, ...], current: compare.Step, generation: int
) -> None:
    """A click on the map jumps to that quartier (within the current commune) or commune."""
    if kind == mapview.KIND_QPV:
        index = compare.find_step(steps, commune=current.commune, qpv=code)
    else:
        index = compare.find_step(steps, commune=code, qpv=None)
    if index:
        go_to(steps[index], generation)


def change_generation(current: compare.Step, catalogue: state.Catalogue) -> None:
    """Same place on the other perimeters: the quartier's counterpart, in the same commune."""
    generation = st.session_state[K_GEN]
    qpv = catalogue.counterpart.get(current.qpv) if current.qpv else None
    go_to(compare.Step(commune=current.commune, qpv=qpv), generation)


def jump(key: str, steps: tuple[compare.Step, ...], generation: int) -> None:
    """A commune or a quartier picked in « Aller à… »: go to its step."""
    code = st.session_state[key]
    st.session_state[key] = None
    if code is None:
        return
    if key == K_JUMP_COMMUNE:
        index = compare.find_step(steps, commune=code, qpv=None)
    else:
        index = compare.find_step(steps, commune=None, qpv=code)
    go_to(steps[index], generation)


def search(
    steps: tuple[compare.Step, ...],
    communes: dict[str, str],
    quartiers: dict[str, str],
    generation: int,
) -> None:
    """Enter in the search box: go straight there when one commune or quartier matches."""
    query = st.session_state[K_SEARCH]
    found = compare.matching(query, communes) + compare.matching(query, quartiers)
    if query.strip() and len(found) == 1:
        code = found[0]
        st.session_state[K_SEARCH] = ""
        if code in communes:
            go_to(steps[compare.find_step(steps, commune=code, qpv=None)], generation)
        else:
            go_to(steps[compare.find_step(steps, commune=None, qpv=code)], generation)


def jump_panel(steps, communes: dict[str, str], quartiers: dict[str, str], generation) -> None:
    """« Aller à… »: a search box (accents optional) filtering a commune and a quartier list."""
    st.text_input(
        "Rechercher une commune ou un quartier",
        key=K_SEARCH,
        placeholder="par exemple : lievin, cite 2, QP062025",
        on_change=search,
        args=(steps, communes, quartiers, generation),
        max_chars=state.MAX_QUERY_LENGTH,
    )
    query = st.session_state.get(K_SEARCH, "")
    shown_communes = compare.matching(query, communes)
    shown_quartiers = compare.matching(query, quartiers)
    if not shown_communes and not shown_quartiers:
        st.caption("Aucune commune ni aucun quartier ne correspond à cette recherche.")
    lists = (
        ("Commune", "une commune", shown_communes, communes, K_JUMP_COMMUNE),
        ("Quartier", "un quartier", shown_quartiers, quartiers, K_JUMP_QPV),
    )
    for label, which, shown, names, key in lists:
        st.selectbox(
            f"{label} ({len(shown)})",
            shown,
            format_func=names.get,
            index=None,
            placeholder=f"Choisir {which}…",
            key=key,
            on_change=jump,
            args=(key, steps, generation),
        )


data = get_dataset()
catalogue = state.Catalogue.from_dataset(data)
book = fact_book(data)
st.markdown(CSS, unsafe_allow_html=True)  # constant CSS only: no data in it

with st.container(key=ROOT_KEY):
    view = state.read_view(catalogue)
    generation = view.generation
    steps = compare.tour(data, generation)
    index = step_index(steps, view)
    step = steps[index]
    state.write_view(step_view(step, generation))

    qpv_names = data.qpv.set_index("code")["name"]
    commune_names = data.communes.set_index("code")["name"]
    holding = compare.communes_with_quartiers(data, generation)
    tour_communes = {
        code: f"{name} ({n} quartier{'s' if n > 1 else ''})"
        for code, name, n in zip(holding["code"], holding["name"], holding["n_qpv"], strict=True)
    }
    tour_codes = list(dict.fromkeys(s.qpv for s in steps if s.qpv))
    # Named with their code: the search finds « QP062025 » too.
    tour_quartiers = {code: f"{qpv_names[code]} – {code}" for code in tour_codes}
    if step.qpv:
        title = qpv_names[step.qpv]
        where = f"Quartier prioritaire · {commune_names[step.commune]} · {step.qpv}"
        shown = [step.qpv]
    elif step.commune:
        title = commune_names[step.commune]
        where = "Commune"
        shown = list(compare.quartiers_of_commune(data, step.commune, generation))
    else:
        title = f"Quartiers prioritaires — {data.territory_name}"
        where = "Vue d'ensemble"
        shown = tour_codes

    with st.container(
        horizontal=True, key=f"{ROOT_KEY}_toolbar", vertical_alignment="center", gap="small"
    ):
        st.button(
            "Accueil",
            icon=":material/home:",
            disabled=index == 0,
            on_click=go_to,
            args=(steps[0], generation),
            shortcut="Home",
            help="Vue d'ensemble du territoire (touche Début)",
            key="presentation_home",
        )
        st.button(
            "Précédent",
            icon=":material/arrow_back:",
            disabled=index == 0,
            on_click=go_to,
            args=(steps[max(index - 1, 0)], generation),
            shortcut="PageUp",
            help="Étape précédente (touche Page précédente)",
            key="presentation_previous",
        )
        st.button(
            "Suivant",
            icon=":material/arrow_forward:",
            icon_position="right",
            disabled=index == len(steps) - 1,
            on_click=go_to,
            args=(steps[min(index + 1, len(steps) - 1)], generation),
            shortcut="PageDown",
            help="Étape suivante (touche Page suivante)",
            key="presentation_next",
        )
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
            dossier_button(data, tour_codes, generation, key=ROOT_KEY)
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
        st.radio(
            "Périmètres",
            generations.ORDER,
            format_func=generations.SHORT_LABELS.get,
            key=K_GEN,
            on_change=change_generation,
            args=(step, catalogue),
        )

    map_column, panel_column = st.columns([3, 2], gap="medium")
    with panel_column, st.container(key=f"{ROOT_KEY}_panel"):
        if step.qpv:
            render_figures(book.quartier(step.qpv))
            members = data.qpv.set_index("code").loc[step.qpv, "commune_names"]
            st.markdown(f"Commune(s) : {escape_markdown(members)}")
            if book.flags(step.qpv):
                st.caption(escape_markdown(book.flags(step.qpv)))
        elif step.commune:
            render_figures(book.commune(step.commune, generation))
            with st.container(gap=None, key=f"{ROOT_KEY}_quartiers"):
                for code in shown:
                    position = compare.find_step(steps, commune=step.commune, qpv=code)
                    st.button(
                        escape_markdown(qpv_names[code]),
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
        m = mapview.build_map(
            data,
            generation=generation,
            codes=shown,
            legend_selected=bool(step.qpv),
            fill_frame=True,
        )
        mapview.show_map(
            m,
            focus=mapview.focus_layer(data, step.qpv) if step.qpv else None,
            on_select=partial(map_clicked, steps=steps, current=step, generation=generation),
            key="presentation_map",
        )

    with st.container(key=f"{ROOT_KEY}_footer"):
        st.caption(f"{KEYS_HELP} {SOURCES}")
