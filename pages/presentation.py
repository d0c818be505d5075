"""/presentation: meeting mode for a projector, stepping through the territory.

The steps: the territory, then each commune holding a quartier followed by its quartiers. Every
step has its own URL, in the map's words (``?commune=62498&qpv=QP062024``, ``&gen=2024``), so a
step can be opened directly or bookmarked; "Précédent" / "Suivant" (or the Page Up / Page Down
keys of a presentation remote) rewrite it. Large type and high contrast come from a CSS block
scoped to this page's container.
"""

from functools import partial

import pandas as pd
import streamlit as st

from geo import compare
from geo.format import fr_int
from geo.selection import GENERATIONS, Filters, select_qpv, summarize
from ui import mapview, state
from ui.data import get_dataset
from ui.factsheet_buttons import factsheet_buttons
from ui.panels import GENERATION_LABELS, escape_markdown, render_headline

ROOT_KEY = "presentation"
# Scoped to the page's container (Streamlit gives it the class st-key-presentation), except the
# sidebar, hidden while this page is shown: the "Quitter la présentation" link replaces it.
CSS = f"""
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {{ display: none; }}
[data-testid="stMainBlockContainer"] {{ max-width: 100%; padding: 2rem 2.5rem; }}
.st-key-{ROOT_KEY} {{ color: #000000; }}
.st-key-{ROOT_KEY} h1 {{ font-size: 3rem; line-height: 1.15; color: #000000; }}
.st-key-{ROOT_KEY} h2 {{ font-size: 2rem; color: #000000; }}
.st-key-{ROOT_KEY} p, .st-key-{ROOT_KEY} li {{ font-size: 1.45rem; line-height: 1.45; }}
.st-key-{ROOT_KEY} [data-testid="stCaptionContainer"] {{ opacity: 1; }}
.st-key-{ROOT_KEY} [data-testid="stCaptionContainer"] p {{ font-size: 1.1rem; color: #2A2A2A; }}
.st-key-{ROOT_KEY} [data-testid="stMetricValue"] {{ font-size: 2.6rem; font-weight: 700;
  color: #000000; }}
.st-key-{ROOT_KEY} [data-testid="stMetricLabel"] p {{ font-size: 1.25rem; color: #000000; }}
.st-key-{ROOT_KEY} [data-testid="stMetricLabel"] *,
.st-key-{ROOT_KEY} [data-testid="stMetricValue"] * {{ white-space: normal; overflow: visible;
  text-overflow: clip; }}
.st-key-{ROOT_KEY} button {{ font-size: 1.35rem; min-height: 3.25rem; border-width: 2px; }}
.st-key-{ROOT_KEY} button p {{ font-size: 1.35rem; }}
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
    generation = st.session_state["presentation_gen"]
    qpv = catalogue.counterpart.get(current.qpv) if current.qpv else None
    go_to(compare.Step(commune=current.commune, qpv=qpv), generation)


def commune_figures(data, commune: str, generation: int) -> None:
    row = compare.commune_table(data, [commune], generation).iloc[0]
    codes = compare.quartiers_of_commune(data, commune, generation)
    share = compare.METRIC_BY_KEY["share_of_commune_pct"]
    columns = st.columns(3)
    columns[0].metric("Quartiers prioritaires", fr_int(len(codes)))
    columns[1].metric(f"Habitants en {row['population_year']}", fr_int(row["population"]))
    columns[2].metric("Part en quartier prioritaire", share.format(row["share_of_commune_pct"]))
    names = data.qpv.set_index("code")["name"]
    st.markdown("\n".join(f"- {escape_markdown(names[c])}" for c in codes))
    if row["flags"]:
        st.caption(escape_markdown(row["flags"]))


def quartier_figures(data, code: str, generation: int) -> None:
    row = compare.quartier_table(data, generation).set_index("code").loc[code]
    year = row["population_year"]
    keys = ["area_ha", "density", "share_of_commune_pct"]
    if generation == 2024:
        keys += ["taux_pauvrete", "taux_emploi"]
    shown = [(f"Habitants en {year}" if pd.notna(year) else "Habitants", "population")]
    shown += [(compare.METRIC_BY_KEY[key].label, key) for key in keys]
    columns = st.columns(2)
    for i, (label, key) in enumerate(shown):
        columns[i % 2].metric(label, compare.METRIC_BY_KEY[key].format(row[key]))
    st.markdown(f"Commune(s) : {escape_markdown(row['communes'])}")
    if row["flags"]:
        st.caption(escape_markdown(row["flags"]))


data = get_dataset()
catalogue = state.Catalogue.from_dataset(data)
st.markdown(CSS, unsafe_allow_html=True)  # constant CSS only: no data in it

with st.container(key=ROOT_KEY):
    view = state.read_view(catalogue)
    generation = view.generation
    steps = compare.tour(data, generation)
    index = compare.find_step(
        steps, commune=view.communes[0] if view.communes else None, qpv=view.qpv
    )
    step = steps[index]
    state.write_view(step_view(step, generation))

    qpv_names = data.qpv.set_index("code")["name"]
    commune_names = data.communes.set_index("code")["name"]
    if step.qpv:
        title = qpv_names[step.qpv]
        where = f"Quartier prioritaire · {commune_names[step.commune]} · {step.qpv}"
    elif step.commune:
        title = commune_names[step.commune]
        where = "Commune"
    else:
        title = f"Quartiers prioritaires — {data.territory_name}"
        where = "Vue d'ensemble"

    previous, heading, following = st.columns([1, 5, 1], vertical_alignment="center")
    previous.button(
        "Précédent",
        icon=":material/arrow_back:",
        disabled=index == 0,
        on_click=go_to,
        args=(steps[max(index - 1, 0)], generation),
        shortcut="PageUp",
        help="Étape précédente (touche Page précédente)",
        width="stretch",
        key="presentation_previous",
    )
    following.button(
        "Suivant",
        icon=":material/arrow_forward:",
        icon_position="right",
        disabled=index == len(steps) - 1,
        on_click=go_to,
        args=(steps[min(index + 1, len(steps) - 1)], generation),
        shortcut="PageDown",
        help="Étape suivante (touche Page suivante)",
        width="stretch",
        key="presentation_next",
    )
    with heading:
        st.title(escape_markdown(title), anchor=False)
        st.caption(
            f"{where} · étape {index + 1} sur {len(steps)} · {GENERATION_LABELS[generation]}"
        )

    map_column, figures_column = st.columns([3, 2], gap="large")
    with figures_column:
        if step.qpv:
            quartier_figures(data, step.qpv, generation)
        elif step.commune:
            commune_figures(data, step.commune, generation)
        else:
            st.markdown(
                "Présentation pas à pas : chaque commune qui compte un quartier prioritaire, "
                "puis ses quartiers. Boutons « Précédent » et « Suivant », ou touches Page "
                "précédente et Page suivante."
            )
    if step.qpv:
        shown = [step.qpv]
    elif step.commune:
        shown = list(compare.quartiers_of_commune(data, step.commune, generation))
    else:
        shown = list(data.qpv_of(generation, include_neighbouring=False)["code"])
    with map_column:
        m = mapview.build_map(data, generation=generation, codes=shown)
        focus = mapview.focus_layer(data, step.qpv) if step.qpv else None
        mapview.show_map(
            m,
            focus=focus,
            on_select=partial(map_clicked, steps=steps, current=step, generation=generation),
            key="presentation_map",
        )
        st.caption(
            "Carte : cliquez sur un quartier ou une commune pour y aller. Les chiffres à droite "
            "en donnent la version texte."
        )

    summary = summarize(
        select_qpv(data.qpv, Filters(generation=generation)), data.communes, generation=generation
    )
    st.header(f"{data.territory_name} en chiffres", anchor=False)
    render_headline(summary, data, year_in_label=True)

    left, middle, right = st.columns([2, 3, 2], vertical_alignment="bottom")
    st.session_state["presentation_gen"] = generation  # the URL decides
    left.radio(
        "Périmètres",
        GENERATIONS,
        horizontal=True,
        key="presentation_gen",
        on_change=change_generation,
        args=(step, catalogue),
    )
    with middle:
        factsheet_buttons(
            data,
            key="presentation",
            code=step.qpv,
            quartiers=shown if step.commune else (),
            communes=(step.commune,) if step.commune else (),
            generation=generation,
        )
    right.page_link(
        "pages/carte.py",
        label="Quitter la présentation",
        icon=":material/close:",
        query_params=state.to_params(step_view(step, generation)),
    )
    st.caption("Sources : Insee, ANCT ; détail et limites sur la page « Sources et limites ».")
