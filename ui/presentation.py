"""Widgets and state of the « Présentation » page (``/presentation``), meeting mode.

The step shown is in the URL, in the map's words (``?commune=62498&qpv=QP062024``, ``&gen=2015``)
or as a number (``?etape=23``): :func:`step_index` reads it, :func:`go_to` writes it. The
buttons, the keys of a presentation remote, a click on the map (:func:`map_clicked`) and
« Aller à… » (:func:`jump_panel`: a search, accents optional, and two lists) all go through
:func:`go_to`. :data:`CSS` makes the page fit meeting-room screens without scrolling.
"""

from __future__ import annotations

import streamlit as st

from geo.selection import Step, find_step, matching
from geo.store import Dataset
from ui import mapview, state
from ui.derived import communes_with_quartiers, quartiers_of_commune  # kept per build
from ui.markdown import excerpt

ROOT_KEY = "presentation"
STEP_PARAM = "etape"
K_GEN = "presentation_gen"
K_SEARCH = "presentation_search"
K_JUMP_COMMUNE = "presentation_jump_commune"
K_JUMP_QPV = "presentation_jump_qpv"
# Height of everything but the map (controls, title, perimeters line, margins): the map takes
# the rest of the window. Measured by tests/test_browser_presentation.py at four sizes.
CHROME_PX = 262
MAP_HEIGHT = f"max(300px, calc(100vh - {CHROME_PX}px))"  # the map takes the rest
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


def step_view(step: Step, generation: int) -> state.ViewState:
    """The map's view of one step (its URL)."""
    return state.ViewState(
        generation=generation,
        communes=(step.commune,) if step.commune else (),
        qpv=step.qpv,
    )


def go_to(step: Step, generation: int) -> None:
    st.query_params.from_dict(state.to_params(step_view(step, generation)))


def step_index(steps: tuple[Step, ...], view: state.ViewState) -> int:
    """The step in the URL: ``?etape=N`` first, else the commune and quartier."""
    raw = st.query_params.get(STEP_PARAM)
    if raw is not None:
        text = raw.strip()
        if text.isdigit() and 1 <= int(text) <= len(steps):
            return int(text) - 1
        st.warning(
            f"Étape inconnue : « {excerpt(text)} ». La présentation a {len(steps)} "
            f"étapes (de 1 à {len(steps)}).",
            icon=":material/link_off:",
        )
    commune = view.communes[0] if view.communes else None
    return find_step(steps, commune=commune, qpv=view.qpv)


def map_clicked(
    kind: str, code: str, *, steps: tuple[Step, ...], current: Step, generation: int
) -> None:
    """A click on the map jumps to that quartier (within the current commune) or commune."""
    if kind == mapview.KIND_QPV:
        index = find_step(steps, commune=current.commune, qpv=code)
    else:
        index = find_step(steps, commune=code, qpv=None)
    if index:
        go_to(steps[index], generation)


def change_generation(current: Step, catalogue: state.Catalogue) -> None:
    """Same place on the other perimeters: the quartier's counterpart, in the same commune."""
    generation = st.session_state[K_GEN]
    qpv = catalogue.counterpart.get(current.qpv) if current.qpv else None
    go_to(Step(commune=current.commune, qpv=qpv), generation)


def jump(key: str, steps: tuple[Step, ...], generation: int) -> None:
    """A commune or a quartier picked in « Aller à… »: go to its step."""
    code = st.session_state[key]
    st.session_state[key] = None
    if code is None:
        return
    if key == K_JUMP_COMMUNE:
        index = find_step(steps, commune=code, qpv=None)
    else:
        index = find_step(steps, commune=None, qpv=code)
    go_to(steps[index], generation)


def search(
    steps: tuple[Step, ...],
    communes: dict[str, str],
    quartiers: dict[str, str],
    generation: int,
) -> None:
    """Enter in the search box: go straight there when one commune or quartier matches."""
    query = st.session_state[K_SEARCH]
    found = matching(query, communes) + matching(query, quartiers)
    if query.strip() and len(found) == 1:
        code = found[0]
        st.session_state[K_SEARCH] = ""
        if code in communes:
            go_to(steps[find_step(steps, commune=code, qpv=None)], generation)
        else:
            go_to(steps[find_step(steps, commune=None, qpv=code)], generation)


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
    shown_communes = matching(query, communes)
    shown_quartiers = matching(query, quartiers)
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


def tour_names(
    data: Dataset, steps: tuple[Step, ...], generation: int
) -> tuple[dict[str, str], dict[str, str]]:
    """The communes and the quartiers of the tour, named for « Aller à… ».

    Communes say how many quartiers they hold; quartiers are named with their code, so that the
    search finds « QP062025 » too.
    """
    holding = communes_with_quartiers(data, generation)
    communes = {
        code: f"{name} ({n} quartier{'s' if n > 1 else ''})"
        for code, name, n in zip(holding["code"], holding["name"], holding["n_qpv"], strict=True)
    }
    names = data.qpv.set_index("code")["name"]
    codes = dict.fromkeys(s.qpv for s in steps if s.qpv)
    return communes, {code: f"{names[code]} – {code}" for code in codes if code}


def describe(
    data: Dataset, step: Step, generation: int, tour_quartiers: dict[str, str]
) -> tuple[str, str, list[str]]:
    """A step's title, what it is (« Commune », « Vue d'ensemble »…) and the quartiers shown."""
    if step.qpv:
        commune = data.communes.set_index("code").loc[step.commune, "name"]
        name = data.qpv.set_index("code").loc[step.qpv, "name"]
        return str(name), f"Quartier prioritaire · {commune} · {step.qpv}", [step.qpv]
    if step.commune:
        name = data.communes.set_index("code").loc[step.commune, "name"]
        return str(name), "Commune", list(quartiers_of_commune(data, step.commune, generation))
    title = f"Quartiers prioritaires — {data.territory_name}"
    return title, "Vue d'ensemble", list(tour_quartiers)


NAVIGATION = (
    # label, icon, key, help, target step (from the current index and the last one)
    ("Accueil", "home", "Home", "Vue d'ensemble du territoire (touche Début)", "home"),
    ("Précédent", "arrow_back", "PageUp", "Étape précédente (touche Page précédente)", "previous"),
    ("Suivant", "arrow_forward", "PageDown", "Étape suivante (touche Page suivante)", "next"),
)


def step_buttons(steps: tuple[Step, ...], index: int, generation: int) -> None:
    """« Accueil », « Précédent », « Suivant », each with its key of a presentation remote."""
    last = len(steps) - 1
    targets = {"home": 0, "previous": max(index - 1, 0), "next": min(index + 1, last)}
    for label, icon, shortcut, tip, target in NAVIGATION:
        st.button(
            label,
            icon=f":material/{icon}:",
            icon_position="right" if target == "next" else "left",
            disabled=index == (last if target == "next" else 0),
            on_click=go_to,
            args=(steps[targets[target]], generation),
            shortcut=shortcut,
            help=tip,
            key=f"presentation_{target}",
        )
