"""/contrat-de-ville: what the politique de la ville is, and what the CALL does with it.

The published figures come from ``data/contrat_de_ville.json`` (with their source); the
territory's figures are computed from the dataset. Nothing numeric is typed here.
"""

import altair as alt
import pandas as pd
import streamlit as st

from geo import generations
from geo.contract import ContractFacts
from geo.format import fr_euros, fr_int, fr_number
from geo.selection import Filters, select_qpv, summarize
from ui import charts
from ui.data import contract_facts, get_dataset
from ui.markdown import escape_markdown

# Okabe-Ito: blue for the published contributions, vermillion for the computed sum, black for the
# announced total; each bar also carries its value as text.
COLOURS = {
    "Contribution publiée": "#0072B2",
    "Somme calculée": "#D55E00",
    "Total annoncé": "#000000",
}


def about(value: float, approx: bool) -> str:
    return f"environ {fr_euros(value)}" if approx else fr_euros(value)


def funding_table(facts: ContractFacts) -> pd.DataFrame:
    """The bars of the funding chart, in reading order."""
    published = facts.contributions.assign(kind="Contribution publiée")
    extra = pd.DataFrame(
        {
            "funder": [
                f"Somme des {len(published)} contributions (calcul)",
                "Total annoncé des financements",
            ],
            "eur": [facts.contributions_sum, facts.programming["funding_mobilised_eur"]],
            "kind": ["Somme calculée", "Total annoncé"],
        }
    )
    table = pd.concat([published, extra], ignore_index=True)
    table["label"] = table["eur"].map(fr_euros)
    return table


def funding_chart(table: pd.DataFrame, year: int) -> alt.LayerChart:
    return charts.horizontal_bars(
        table,
        category="funder",
        value="eur",
        kind="kind",
        label="label",
        colours=COLOURS,
        title=f"Financements de la programmation {year}, tels que publiés",
        value_title="Montant (millions d'euros)",
        axis_labels=charts.FRENCH_MILLIONS,
        tooltip=[("funder", "Financeur"), ("label", "Montant")],
        category_width=300,
        category_size=13,
        step=30,
    )


data = get_dataset()
facts = contract_facts()
programming = facts.programming
year = programming["year"]

st.title("Le contrat de ville")
st.markdown(
    f"La politique de la ville aide les quartiers où vivent le plus d'habitants à faibles "
    "revenus. Dans l'agglomération, elle est conduite par la "
    f"**{escape_markdown(data.territory_name)}** avec "
    "ses partenaires, dans le cadre d'un *contrat de ville*."
)

st.header("Les quartiers prioritaires de l'agglomération")
current = {
    g: summarize(select_qpv(data.qpv, Filters(generation=g)), data.communes, generation=g)
    for g in generations.ORDER
}
s15 = current[generations.PREVIOUS]
columns = st.columns(3)
columns[0].metric("Quartiers prioritaires du contrat", fr_int(s15.quartiers))
columns[1].metric("Communes concernées", fr_int(len(s15.communes)))
columns[2].metric(
    f"Habitants en {s15.population_year}" if s15.population_year else "Habitants",
    fr_int(s15.population),
)
s24 = current[generations.IN_FORCE]
st.caption(
    f"Périmètres officiels de 2015 et population Insee {s15.population_year}, calculés à partir "
    f"des données de l'application. Depuis le 1er janvier 2024, de nouveaux périmètres "
    f"s'appliquent : {fr_int(s24.quartiers)} quartiers dans {fr_int(len(s24.communes))} "
    f"communes, soit {fr_int(s24.population)} habitants (année non précisée par la source)."
)

st.header("Qu'est-ce que la politique de la ville ?")
st.markdown(
    "C'est une politique publique de l'État et des collectivités locales pour réduire les "
    "écarts entre les quartiers les plus en difficulté et le reste de leur ville : emploi, "
    "éducation, santé, logement, cadre de vie, sécurité. L'État fixe la liste des *quartiers "
    "prioritaires* selon un critère simple, la part d'habitants aux revenus les plus faibles. "
    "Dans chaque agglomération, un contrat de ville réunit les partenaires autour d'objectifs "
    "communs et finance des actions pour les habitants de ces quartiers."
)

st.header("Ce que fait la CALL")
pillars = [title for title, transversal in facts.pillars if not transversal]
transversal = [title for title, transversal in facts.pillars if transversal]
st.markdown(
    f"Le **{escape_markdown(facts.title)}** a été signé pour "
    f"{facts.start_year}–{facts.end_year}, puis prolongé jusqu'en {facts.extended_to}. "
    f"Il s'organise en {len(pillars)} piliers :"
)
st.markdown("\n".join(f"- {escape_markdown(title)}" for title in pillars))
if transversal:
    st.markdown(
        "et un axe transversal, présent dans chacun d'eux : "
        + ", ".join(f"**{escape_markdown(t.lower())}**" for t in transversal)
        + "."
    )
st.markdown(
    "**Les partenaires du contrat :** "
    + ", ".join(escape_markdown(p) for p in facts.partners[:-1])
    + f" et {escape_markdown(facts.partners[-1])}."
)

st.header(f"La programmation {year}")
total_is = "d'environ" if programming["total_is_approx"] else "de"
st.markdown(
    f"Chiffres publiés par la CALL pour l'année {year} : **{fr_int(programming['projects'])} "
    f"projets**, pour un montant total {total_is} "
    f"**{fr_number(programming['total_eur'] / 1e6, 1)} millions d'euros**."
)
columns = st.columns(3)
columns[0].metric("Projets", fr_int(programming["projects"]))
columns[1].metric("Financements mobilisés", fr_euros(programming["funding_mobilised_eur"]))
columns[2].metric(
    "Subventions de la CALL",
    about(programming["call_subsidies_eur"], programming["call_subsidies_is_approx"]),
)
violence = programming["domestic_violence"]
st.markdown(
    f"**{fr_euros(violence['eur'])}** sont allés à {fr_int(violence['associations'])} "
    "associations de lutte contre les violences conjugales."
)

table = funding_table(facts)
st.altair_chart(charts.accessible(funding_chart(table, year)), width="stretch")
st.markdown("**Les mêmes chiffres en tableau**")
st.table(
    table[["funder", "label"]].rename(columns={"funder": "Financeur", "label": "Montant"}),
    hide_index=True,
)
if facts.excess_over_announced:
    st.info(
        f"Les {len(facts.contributions)} contributions publiées totalisent "
        f"**{fr_euros(facts.contributions_sum)}**, soit "
        f"**{fr_euros(facts.excess_over_announced)} de plus** que le total de "
        f"{fr_euros(programming['funding_mobilised_eur'])} annoncé pour les financements "
        "mobilisés. "
        "Les chiffres sont reproduits tels que la CALL les a publiés, "
        "sans correction : la source n'explique pas cet écart.",
        icon=":material/info:",
    )

st.header("Programmes liés")
st.markdown(
    "\n".join(
        f"- **{escape_markdown(title)}** : {escape_markdown(summary)}"
        for title, summary in facts.related_programmes
    )
)

st.divider()
st.caption(f"Source : [{escape_markdown(facts.source_label)}]({facts.source_url}).")
