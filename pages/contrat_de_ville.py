"""/contrat-de-ville: what the politique de la ville is, and what the CALL does with it.

Every published fact comes from ``data/contrat_de_ville.json``, under its own source (named
under each section, with its year or « année non précisée »); the territory's figures are
computed from the dataset, with theirs. Nothing numeric, and no fact, is typed here.
"""

import altair as alt
import pandas as pd
import streamlit as st

from geo import generations
from geo.contract import ContractFacts
from geo.format import fr_euros, fr_int, fr_number
from geo.quartier import SHORT_SOURCES, population_source
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


def source_line(facts: ContractFacts, section: str) -> str:
    """« Source : [label](url), année » of one section of the facts file (Markdown, escaped)."""
    source = facts.sources[section]
    return (
        f"Source : [{escape_markdown(source.label)}]({source.url}), "
        f"{generations.year_text(source.year)}."
    )


data = get_dataset()
facts = contract_facts()
programming = facts.programming
year = programming["year"]

st.title("Le contrat de ville")
st.markdown(
    "Dans l'agglomération, la politique de la ville passe par un *contrat de ville* que pilote "
    f"la **{escape_markdown(data.territory_name)}**."
)
st.caption(source_line(facts, "contract"))

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
    f"Périmètres {generations.PREVIOUS} ({SHORT_SOURCES['qpv']}) et population "
    f"{generations.year_text(s15.population_year)} "
    f"({population_source(data, generations.PREVIOUS)}), calculés à partir des données de "
    f"l'application. {generations.LABELS[generations.IN_FORCE]} : {fr_int(s24.quartiers)} "
    f"quartiers dans {fr_int(len(s24.communes))} communes ({SHORT_SOURCES['qpv']}), soit "
    f"{fr_int(s24.population)} habitants ({population_source(data, generations.IN_FORCE)}, "
    f"{generations.year_text(s24.population_year)})."
)

st.header("Qu'est-ce que la politique de la ville ?")
st.markdown(
    f"Pour la {escape_markdown(data.territory_name)}, c'est une politique publique partenariale "
    f"qui vise à {escape_markdown(facts.aim)}. Elle intervient dans plusieurs domaines :"
)
st.markdown("\n".join(f"- {escape_markdown(domain)}" for domain in facts.domains))
st.caption(source_line(facts, "policy"))

st.header("Le contrat de ville")
pillars = [title for title, _ in facts.pillars]
transversal = [title for title, transversal in facts.pillars if transversal]
st.markdown(
    f"Le **{escape_markdown(facts.title)}** a été signé pour "
    f"{facts.start_year}–{facts.end_year}, puis prolongé jusqu'en {facts.extended_to}. "
    f"Il repose sur {len(pillars)} piliers :"
)
st.markdown(
    "\n".join(
        f"- {escape_markdown(title)}" + (" (axe transversal)" if title in transversal else "")
        for title in pillars
    )
)
partners = [escape_markdown(p) for p in facts.partners]
st.markdown(
    "**Partenaires engagés dans le contrat**"
    + ("" if facts.partners_complete else ", notamment")
    + " : "
    + (", ".join(partners[:-1]) + f" et {partners[-1]}" if len(partners) > 1 else partners[0])
    + "."
)
st.caption(source_line(facts, "pillars"))

st.header(f"La programmation {year}")
total_is = "de près de" if programming["total_is_approx"] else "de"
st.markdown(
    f"Chiffres publiés par la CALL pour la programmation {year} du contrat de ville : "
    f"**{fr_int(programming['projects'])} projets**, pour un montant total {total_is} "
    f"**{fr_number(programming['total_eur'] / 1e6, 1)} millions d'euros**."
)
columns = st.columns(3)
columns[0].metric("Projets", fr_int(programming["projects"]))
columns[1].metric("Financements mobilisés", fr_euros(programming["funding_mobilised_eur"]))
columns[2].metric(
    "Subventions de la CALL",
    about(programming["call_subsidies_eur"], programming["call_subsidies_is_approx"]),
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
st.caption(source_line(facts, "programming"))

st.header("Violences intrafamiliales")
violence = facts.domestic_violence
st.markdown(
    f"Dans le cadre des violences intrafamiliales, l'agglomération subventionne "
    f"{fr_int(violence['associations'])} associations à hauteur de "
    f"**{fr_euros(violence['eur'])}**. Cette source ne rattache pas ce montant à la "
    f"programmation {year} du contrat de ville."
)
st.caption(source_line(facts, "domestic_violence"))
