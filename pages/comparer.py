"""/comparer: 2 to 8 quartiers side by side, with their communes and the territory as references.

``?qpv=CODE,CODE,...`` (codes of either generation) opens a comparison directly, ``&gen=2015``
picks the perimeters; the URL follows the choices, so a comparison can be shared.
"""

import pandas as pd
import streamlit as st

from geo import compare
from geo.selection import (
    commune_choices,
    communes_with_quartiers,
    quartiers_of_commune,
    sort_by_name,
)
from geo.territory import STATUS_NEIGHBOURING
from ui import comparer, downloads, state
from ui.charts import accessible
from ui.comparer import DEFAULT_CHARTS, K_CODES, K_GENERATION, MODE_COMMUNE, MODE_PICK, entity_label
from ui.data import get_dataset
from ui.markdown import escape_markdown

data = get_dataset()
st.title("Comparer des quartiers")
st.markdown(
    f"Comparez de {compare.MIN_QUARTIERS} à {compare.MAX_QUARTIERS} quartiers prioritaires, "
    "avec leurs communes et l'ensemble du territoire comme repères."
)

comparer.seed_from_link(data)

left, right = st.columns(2)
generation = state.perimeters_radio(
    K_GENERATION,
    labels=comparer.generation_label,
    on_change=comparer.follow_generation,
    args=(data,),
    horizontal=True,
    where=left,
)
mode = right.radio(
    "Quartiers comparés", (MODE_PICK, MODE_COMMUNE), horizontal=True, key=comparer.K_MODE
)

quartiers = sort_by_name(data.qpv_of(generation))
names = {
    row.code: f"{row.name} – {row.commune_names}"
    + (" (quartier voisin, hors contrat)" if row.status == STATUS_NEIGHBOURING else "")
    for row in quartiers.itertuples()
}
if mode == MODE_PICK:
    codes = st.multiselect(
        "Quartiers",
        list(names),
        format_func=names.get,
        max_selections=compare.MAX_QUARTIERS,
        key=K_CODES,
        placeholder="Tapez un nom de quartier ou de commune",
    )
else:
    holding = communes_with_quartiers(data, generation)
    holding = holding[holding["n_qpv"] >= compare.MIN_QUARTIERS]
    labels = commune_choices(data.communes, generation)
    commune = st.selectbox(
        "Commune",
        list(holding["code"]),
        format_func=labels.get,
        key=comparer.K_COMMUNE,
        help=f"Les communes qui comptent au moins {compare.MIN_QUARTIERS} quartiers.",
    )
    codes = list(quartiers_of_commune(data, commune, generation))
comparer.write_link(codes, generation)

if len(codes) < compare.MIN_QUARTIERS:
    st.info(f"Choisissez au moins {compare.MIN_QUARTIERS} quartiers pour les comparer.")
    st.stop()

result = compare.compare(data, codes, generation=generation)
table = result.table

st.header("Tableau")
shown = compare.formatted(result)
shown.index = [entity_label(r) for r in table.itertuples()]
figures = shown[
    [
        "Code",
        "Commune(s)",
        "Année de la population",
        *(m.title for m in result.metrics),
        *result.provenance.columns,
    ]
].T
figures.insert(0, "Indicateur", figures.index)
st.table(figures, hide_index=True)
with st.expander("Remarques sur les valeurs et les sources", expanded=True):
    remarks = [
        f"- **{escape_markdown(entity_label(r))}** : {escape_markdown(r.flags)}"
        for r in table.itertuples()
        if r.flags
    ]
    st.markdown("\n".join(remarks) if remarks else "Aucune valeur manquante ou signalée.")
    st.markdown("\n".join(f"- {note}" for note in compare.notes(data)))

left, right = st.columns(2)
export = compare.labelled(result)
downloads.csv_button(
    "Télécharger le tableau (CSV)",
    export,
    f"comparaison-quartiers-{generation}.csv",
    where=left,
)
downloads.excel_button(
    "Télécharger le tableau (Excel)",
    export,
    f"comparaison-quartiers-{generation}.xlsx",
    sheet_name="Comparaison",
    where=right,
)

st.header("Graphiques")
by_key = {m.key: m for m in result.metrics}
chosen = st.multiselect(
    "Indicateurs représentés",
    list(by_key),
    default=[k for k in DEFAULT_CHARTS[generation] if k in by_key],
    format_func=lambda k: by_key[k].label,
    key=f"cmp_charts_{generation}",
)
st.caption("Chaque barre porte sa valeur ; le tableau ci-dessus donne les mêmes chiffres.")
for key in chosen:
    st.altair_chart(accessible(comparer.bar_chart(table, by_key[key])), width="stretch")
    provenance = compare.ranking_provenance(data, key, generation)
    said = [by_key[key].help, f"Quartiers : {provenance}" if provenance else ""]
    st.caption(escape_markdown(" ".join(t.rstrip(".") + "." for t in said if t)))

st.header("Classement de tous les quartiers")
metric_key = st.selectbox(
    "Classer sur",
    list(by_key),
    index=list(by_key).index(DEFAULT_CHARTS[generation][1]),
    format_func=lambda k: by_key[k].label,
    key=f"cmp_rank_{generation}",
)
ranked = compare.ranking(data, metric_key, generation=generation)
metric = by_key[metric_key]
st.caption(
    f"{escape_markdown(metric.label)} : "
    f"{escape_markdown(compare.ranking_provenance(data, metric_key, generation))}. "
    f"Du plus élevé au plus faible ; {len(ranked)} quartiers du contrat. Les quartiers sans "
    "valeur sont en fin de liste, sans rang."
)
st.table(
    pd.DataFrame(
        {
            "Rang": ranked["rank"].map(lambda r: "—" if pd.isna(r) else str(int(r))),
            "Quartier": ranked["name"] + " (" + ranked["code"] + ")",
            "Commune(s)": ranked["communes"],
            metric.title: ranked["text"],
            "Comparé ici": ranked["code"].map(lambda c: "oui" if c in result.codes else ""),
            "Remarque": ranked["flags"],
        }
    ),
    hide_index=True,
)
downloads.csv_button(
    "Télécharger le classement (CSV)",
    compare.ranking_export(data, ranked, metric, generation),
    f"classement-{metric_key}-{generation}.csv",
)
