"""Widgets and state of the « Comparer » page (``/comparer``).

The picked quartiers live in ``st.session_state`` (:data:`K_CODES`), seeded once from the link
(``ui.state.read_compare``) and written back to it on every run; switching the perimeters keeps
them through their counterparts (:func:`follow_generation`). :func:`bar_chart` draws one metric
of a comparison, :func:`entity_label` names a row of it.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from geo import compare, generations
from geo.metrics import Metric
from geo.quartier import marked
from geo.store import Dataset
from ui import charts, state

K_CODES = "cmp_codes"
K_GENERATION = "cmp_generation"
K_MODE = "cmp_mode"
K_COMMUNE = "cmp_commune"
MODE_PICK = "Choisir les quartiers"
MODE_COMMUNE = "Tous les quartiers d'une commune"
# Okabe-Ito blue / vermillion, black and dark grey: told apart with any colour-vision
# deficiency, each at least 3:1 against white; every bar also carries its value as text.
KIND_COLOURS = {
    compare.KIND_LABELS[compare.KIND_QUARTIER]: "#0072B2",
    compare.KIND_LABELS[compare.KIND_COMMUNE]: "#D55E00",
    compare.KIND_LABELS[compare.KIND_TERRITORY]: "#000000",
    compare.KIND_LABELS[compare.KIND_MEDIAN]: "#6B6B6B",
}
# Communes and the territory are drawn only where their values are on the quartiers' scale (a
# commune's population would flatten every quartier's bar); the table keeps them all.
WITH_REFERENCES = ("density", "share_of_commune_pct")
DEFAULT_CHARTS = {
    generations.PREVIOUS: ("population", "density", "share_of_commune_pct"),
    generations.IN_FORCE: ("population", "taux_pauvrete", "taux_emploi", "taux_logements_sociaux"),
}


def seed_from_link(data: Dataset) -> None:
    """The first run of a visit: the quartiers and perimeters of the link (once)."""
    if K_CODES not in st.session_state:
        asked = state.read_compare(data)
        st.session_state[K_GENERATION] = asked.generation
        st.session_state[K_CODES] = list(asked.codes)


def follow_generation(data: Dataset) -> None:
    """Keep the picked quartiers when the perimeters change (their counterparts)."""
    generation = st.session_state[K_GENERATION]
    codes = st.session_state.get(K_CODES, [])
    st.session_state[K_CODES] = state.usable_codes(data, codes, generation)[0]


def generation_label(generation: int) -> str:
    """A generation in the perimeters' radio: the one with the indicators says so."""
    if generations.has_indicators(generation):
        return f"{generation} (avec les indicateurs {generation})"
    return str(generation)


def write_link(codes: list[str], generation: int) -> None:
    """The URL names what is compared, so that a comparison can be shared."""
    state.write_params(state.compare_params(state.CompareState(tuple(codes), generation)))


def entity_label(row) -> str:
    """How a row of the comparison is named: ``Nom (CODE)``, ``Nom (commune)``, ``Nom``."""
    if row.kind == compare.KIND_QUARTIER:
        return f"{row.name} ({row.code})"
    if row.kind == compare.KIND_COMMUNE:
        return f"{row.name} (commune)"
    return row.name


def bar_chart(table: pd.DataFrame, metric: Metric) -> alt.LayerChart:
    """Horizontal bars of one metric, value printed at the end of each bar."""
    kinds = [compare.KIND_QUARTIER, compare.KIND_MEDIAN]
    if metric.key in WITH_REFERENCES:
        kinds += [compare.KIND_COMMUNE, compare.KIND_TERRITORY]
    rows = table[table["kind"].isin(kinds)]
    frame = pd.DataFrame(
        {
            "entite": [entity_label(r) for r in rows.itertuples()],
            "type": rows["kind"].map(compare.KIND_LABELS).to_numpy(),
            "valeur": rows[metric.key].astype(float).to_numpy(),
        }
    )
    flagged = rows["flagged"].map(lambda keys: metric.key in str(keys).split(",")).to_numpy()
    approximate = (rows["simplified"].astype(bool) & metric.from_shapes).to_numpy()
    frame["texte"] = [
        marked(metric.format(v, simplified=bool(a)), bool(f)) if pd.notna(v) else "valeur manquante"
        for v, a, f in zip(frame["valeur"], approximate, flagged, strict=True)
    ]
    frame["position"] = frame["valeur"].fillna(0)
    return charts.horizontal_bars(
        frame,
        category="entite",
        value="valeur",
        kind="type",
        label="texte",
        label_at="position",
        colours=KIND_COLOURS,
        title=metric.label,
        value_title=metric.title,
        tooltip=[("entite", "Nom"), ("texte", metric.label)],
    )
