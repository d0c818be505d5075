"""/comparer: 2 to 8 quartiers side by side, with their communes and the territory as references.

``?qpv=CODE,CODE,...`` (codes of either generation) opens a comparison directly, ``&gen=2015``
picks the perimeters; the URL follows the choices, so a comparison can be shared.
"""

import altair as alt
import pandas as pd
import streamlit as st

from geo import compare, generations
from geo.errors import InputError
from geo.format import fr_number
from geo.selection import GENERATIONS, commune_choices
from geo.territory import STATUS_NEIGHBOURING
from ui import downloads
from ui.charts import accessible
from ui.data import get_dataset
from ui.panels import escape_markdown
from ui.state import quote_codes, split_codes

PARAM_QPV = "qpv"
PARAM_GEN = "gen"
DEFAULT_GENERATION = 2024  # the 2024 perimeters carry the indicators worth comparing
MODE_PICK = "Choisir les quartiers"
MODE_COMMUNE = "Tous les quartiers d'une commune"
TEXT = "#161616"
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
    2015: ("population", "density", "share_of_commune_pct"),
    2024: ("population", "taux_pauvrete", "taux_emploi", "taux_logements_sociaux"),
}


def url_codes(problems: list[str]) -> list[str]:
    """Codes in ``?qpv=``, comma-separated or repeated (normalised, at most 50)."""
    return split_codes(st.query_params.get_all(PARAM_QPV), PARAM_QPV, problems)


def url_generation(data, codes: list[str]) -> int:
    """``?gen=``, else the generation of the first known code, else the default."""
    gen = st.query_params.get(PARAM_GEN, "")
    if gen in {str(g) for g in GENERATIONS}:
        return int(gen)
    known = data.qpv.set_index("code")["generation"]
    for code in codes:
        if code in known.index:
            return int(known[code])
    return DEFAULT_GENERATION


def write_url(codes: list[str], generation: int) -> None:
    wanted = {PARAM_QPV: ",".join(codes)} if codes else {}
    if generation != DEFAULT_GENERATION:
        wanted[PARAM_GEN] = str(generation)
    current = {k: ",".join(st.query_params.get_all(k)) for k in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)


def usable_codes(data, codes: list[str], generation: int) -> tuple[list[str], list[str]]:
    """The codes that resolve in ``generation`` (at most 8), and French messages for the others
    (one for all the unknown codes, however many)."""
    known = set(data.qpv["code"])
    unknown = [code for code in codes if code not in known]
    problems = [f"code(s) de quartier inconnu(s) : {quote_codes(unknown)}"] if unknown else []
    kept: list[str] = []
    for code in (c for c in codes if c in known):
        try:
            kept.extend(c for c in compare.resolve_codes(data, [code], generation) if c not in kept)
        except InputError as exc:
            problems.append(escape_markdown(str(exc)))
    if len(kept) > compare.MAX_QUARTIERS:
        problems.append(f"{compare.MAX_QUARTIERS} quartiers au plus : les suivants sont ignorés")
    return kept[: compare.MAX_QUARTIERS], problems


def follow_generation(data) -> None:
    """Keep the picked quartiers when the perimeters change (2015 <-> 2024 counterparts)."""
    generation = st.session_state["cmp_generation"]
    codes = st.session_state.get("cmp_codes", [])
    st.session_state["cmp_codes"] = usable_codes(data, codes, generation)[0]


def entity_label(row) -> str:
    if row.kind == compare.KIND_QUARTIER:
        return f"{row.name} ({row.code})"
    if row.kind == compare.KIND_COMMUNE:
        return f"{row.name} (commune)"
    return row.name


def bar_chart(table: pd.DataFrame, metric: compare.Metric) -> alt.LayerChart:
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
    frame["texte"] = [
        metric.format(v) if pd.notna(v) else "valeur manquante ou écartée" for v in frame["valeur"]
    ]
    frame["position"] = frame["valeur"].fillna(0)
    present = [kind for kind in KIND_COLOURS if kind in set(frame["type"])]
    base = alt.Chart(frame).encode(
        y=alt.Y(
            "entite:N",
            sort=None,
            title=None,
            axis=alt.Axis(labelLimit=320, labelFontSize=12, labelColor=TEXT),
        ),
    )
    bars = base.mark_bar().encode(
        x=alt.X(
            "valeur:Q",
            title=metric.title,
            axis=alt.Axis(
                labelExpr="replace(replace(format(datum.value, ',~f'), ',', ' '), '.', ',')",
                labelColor=TEXT,
                titleColor=TEXT,
            ),
        ),
        color=alt.Color(
            "type:N",
            title=None,
            scale=alt.Scale(domain=list(present), range=[KIND_COLOURS[k] for k in present]),
            legend=alt.Legend(orient="bottom", labelColor=TEXT, labelFontSize=12),
        ),
        tooltip=[alt.Tooltip("entite:N", title="Nom"), alt.Tooltip("texte:N", title=metric.label)],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=12, color=TEXT).encode(
        x="position:Q", text="texte:N"
    )
    return (bars + labels).properties(
        title=alt.Title(metric.label, color=TEXT), height=alt.Step(26)
    )


data = get_dataset()
st.title("Comparer des quartiers")
st.markdown(
    f"Comparez de {compare.MIN_QUARTIERS} à {compare.MAX_QUARTIERS} quartiers prioritaires, "
    "avec leurs communes et l'ensemble du territoire comme repères."
)

if "cmp_codes" not in st.session_state:
    problems: list[str] = []
    asked = url_codes(problems)
    st.session_state["cmp_generation"] = url_generation(data, asked)
    kept, unusable = usable_codes(data, asked, st.session_state["cmp_generation"])
    st.session_state["cmp_codes"] = kept
    if problems or unusable:
        # One warning for the whole link, however many codes it held.
        text = " ; ".join(problem.rstrip(".") for problem in problems + unusable)
        st.warning(f"Lien : {text}.", icon=":material/link_off:")

left, right = st.columns(2)
generation = left.radio(
    "Périmètres",
    generations.ORDER,
    format_func=lambda g: f"{g}" + (" (avec les indicateurs 2024)" if g == 2024 else ""),
    horizontal=True,
    key="cmp_generation",
    on_change=follow_generation,
    args=(data,),
)
mode = right.radio("Quartiers comparés", (MODE_PICK, MODE_COMMUNE), horizontal=True, key="cmp_mode")

quartiers = compare.sort_by_name(data.qpv_of(generation))
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
        key="cmp_codes",
        placeholder="Tapez un nom de quartier ou de commune",
    )
else:
    holding = compare.communes_with_quartiers(data, generation)
    holding = holding[holding["n_qpv"] >= compare.MIN_QUARTIERS]
    labels = commune_choices(data.communes, generation)
    commune = st.selectbox(
        "Commune",
        list(holding["code"]),
        format_func=labels.get,
        key="cmp_commune",
        help=f"Les communes qui comptent au moins {compare.MIN_QUARTIERS} quartiers.",
    )
    codes = list(compare.quartiers_of_commune(data, commune, generation))
write_url(codes, generation)

if len(codes) < compare.MIN_QUARTIERS:
    st.info(f"Choisissez au moins {compare.MIN_QUARTIERS} quartiers pour les comparer.")
    st.stop()

result = compare.compare(data, codes, generation=generation)
table = result.table

st.header("Tableau")
shown = compare.formatted(table, generation)
shown.index = [entity_label(r) for r in table.itertuples()]
figures = shown[
    ["Code", "Commune(s)", "Année de la population", *(m.title for m in result.metrics)]
].T
figures.insert(0, "Indicateur", figures.index)
st.table(figures, hide_index=True)
with st.expander("Remarques sur les valeurs et les sources", expanded=True):
    remarks = [
        f"- **{escape_markdown(entity_label(r))}** : {escape_markdown(r.flags)}"
        for r in table.itertuples()
        if r.flags
    ]
    st.markdown("\n".join(remarks) if remarks else "Aucune valeur manquante ou écartée.")
    st.markdown("\n".join(f"- {note}" for note in compare.notes(data)))

left, right = st.columns(2)
export = compare.labelled(table, generation)
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
    st.altair_chart(accessible(bar_chart(table, by_key[key])), width="stretch")
    if by_key[key].help:
        st.caption(by_key[key].help)

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
    f"Du plus élevé au plus faible ; {len(ranked)} quartiers du contrat. Les quartiers sans "
    "valeur sont en fin de liste, sans rang."
)
st.table(
    pd.DataFrame(
        {
            "Rang": ranked["rank"].map(lambda r: "—" if pd.isna(r) else str(int(r))),
            "Quartier": ranked["name"] + " (" + ranked["code"] + ")",
            "Commune(s)": ranked["communes"],
            metric.title: ranked["value"].map(lambda v: fr_number(v, metric.decimals)),
            "Comparé ici": ranked["code"].map(lambda c: "oui" if c in result.codes else ""),
            "Remarque": ranked["flags"],
        }
    ),
    hide_index=True,
)
downloads.csv_button(
    "Télécharger le classement (CSV)",
    ranked.rename(
        columns={
            "rank": "Rang",
            "code": "Code",
            "name": "Quartier",
            "communes": "Commune(s)",
            "value": metric.title,
            "flags": "Remarque",
        }
    ),
    f"classement-{metric_key}-{generation}.csv",
)
