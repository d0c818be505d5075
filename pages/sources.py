"""Sources et limites (``/sources``): the datasets, what the build did, and what to keep in mind.

Everything here is read from ``geo.sources.DATASETS`` and the build report of the processed
tables: nothing about the data is written in this page.
"""

import pandas as pd
import streamlit as st

from geo import generations
from geo.facts import ESTIMATE_NOTE
from geo.format import fr_distance, fr_int, fr_number
from geo.metrics import label_of
from geo.sources import DATASETS, SOURCES
from geo.store import latest_population_column
from ui.data import get_dataset
from ui.markdown import escape_markdown

ORIGINS = {"mirror": "copie hors ligne (miroir)", "cache": "cache local", "download": "téléchargé"}
REPAIR_REASONS = {"Self-intersection": "polygone qui se recoupe (auto-intersection)"}

dataset = get_dataset()
report = dataset.report
used_sources = {entry.source for entry in report.sources.values()}
used_datasets = {SOURCES[key].dataset for key in used_sources if key in SOURCES}
used_files = {key: SOURCES[key].dataset for key in used_sources if key in SOURCES}
census_year = generations.year_text(generations.population_year(dataset, generations.PREVIOUS))
reference_year, reference_column = latest_population_column(dataset.communes)

st.title("Sources et limites", anchor=False)
st.markdown(
    "Les chiffres et les périmètres de cette application viennent de données publiques, "
    "préparées une fois puis relues à chaque affichage. Cette page dit d'où elles viennent, "
    "ce que la préparation a corrigé ou signalé, et les limites à garder en tête."
)

# --- Limits first: what a resident or an elected official should know before quoting a figure.
st.header("Limites à connaître", anchor=False)
limits = [
    f"**Périmètres {generation} simplifiés** : le fichier utilisé ici, "
    f"« {escape_markdown(SOURCES[report.generations[generation].source].path)} », est une "
    "copie simplifiée (écart avec le fichier de l'ANCT jusqu'à environ "
    f"{fr_distance(dataset.tolerance_m(generation))}). Elle suffit pour la carte, pas pour dire "
    "à coup sûr si une adresse proche d'une limite est dans un quartier : vérifiez alors sur le "
    "SIG Ville. Les surfaces, densités et évolutions de surface des quartiers "
    f"{generation} sont calculées sur ces contours simplifiés : elles sont données avec moins "
    f"de chiffres et le disent (« {generations.SIMPLIFIED_NOTE} »)."
    for generation in generations.simplified(dataset)
]
limits += [
    "**Contours des communes simplifiés** : "
    + escape_markdown(DATASETS["contours_communes"].notes),
    f"**Population en quartier par commune** : {ESTIMATE_NOTE} Les chiffres par commune sont "
    "donc des ordres de grandeur ; ceux par quartier sont ceux de la source.",
    f"**Année de la population des quartiers {generations.IN_FORCE}** : la source ne la précise "
    f"pas ; la population des quartiers {generations.PREVIOUS} est celle du recensement "
    f"{census_year}.",
    "**Années différentes** : la part des habitants en quartier rapporte la population des "
    f"quartiers ({census_year} pour les périmètres {generations.PREVIOUS}) à la population "
    f"municipale {reference_year} des communes : c'est un ordre de grandeur.",
    "**Indicateurs 2024** : " + escape_markdown(DATASETS["indicateurs2024"].notes),
    "**Tracés affichés** : la carte montre des contours allégés (écart maximal de "
    f"{fr_number(report.display_max_shift_m, 1)} m avec les périmètres "
    "utilisés pour les calculs).",
]
limits += [
    f"**Quartier voisin {escape_markdown(code)}** : {escape_markdown(reason)}"
    for code, reason in report.territory.neighbouring.items()
]
st.markdown("\n".join(f"- {line}" for line in limits))

# --- Datasets
st.header("Données utilisées", anchor=False)
for ds in DATASETS.values():
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(ds.title)}**")
        lines = [
            f"Producteur : {escape_markdown(ds.producer)}",
            f"Millésime : {escape_markdown(ds.vintage)}",
            f"Licence : {escape_markdown(ds.licence)}",
            f"Page officielle : [{escape_markdown(ds.page)}]({ds.page})",
        ]
        if ds.notes:
            lines.append(f"Remarques : {escape_markdown(ds.notes)}")
        files = [e for e in report.sources.values() if used_files.get(e.source) == ds.key]
        lines += [
            f"Fichier utilisé : « {escape_markdown(entry.path)} »"
            + (
                f", {escape_markdown(SOURCES[entry.source].description)}"
                if SOURCES[entry.source].description
                else ""
            )
            for entry in files
        ]
        if ds.key not in used_datasets:
            lines.append("Non utilisé dans la préparation actuelle.")
        st.markdown("\n".join(f"- {line}" for line in lines))

# --- Build report
st.header("Préparation des données", anchor=False)
territory = report.territory
st.markdown(
    f"Territoire : **{escape_markdown(territory.name)}** (SIREN {territory.siren}), "
    f"{report.communes} communes, {fr_int(dataset.communes[reference_column].sum())} "
    f"habitants (population municipale {reference_year})."
    + (f" Contrat : {escape_markdown(territory.contract)}." if territory.contract else "")
)
st.subheader("Quartiers", anchor=False)
st.table(
    pd.DataFrame(
        [
            {
                "Périmètres": label,
                "Attribués au territoire par l'Insee": c.attributed,
                "Du contrat de ville": c.contract,
                "Voisins (hors contrat)": c.neighbouring,
                "Partagés avec un autre EPCI": c.shared,
                "Communes concernées": c.communes_with_qpv,
                "Habitants": f"{fr_int(c.population)} ({generations.year_text(c.population_year)})",
            }
            for generation, label in generations.LABELS.items()
            if (c := report.generations.get(generation))
        ]
    ),
    hide_index=True,
)

st.subheader("Géométries réparées", anchor=False)
if report.repaired:
    st.table(
        pd.DataFrame(
            {
                "Quartier": [r.code for r in report.repaired],
                "Périmètres": [r.generation for r in report.repaired],
                "Défaut": [
                    REPAIR_REASONS.get(r.reason.split("[")[0], r.reason) for r in report.repaired
                ],
                "Surface avant (m²)": [fr_number(r.area_before_m2, 1) for r in report.repaired],
                "Surface après (m²)": [fr_number(r.area_after_m2, 1) for r in report.repaired],
            }
        ),
        hide_index=True,
    )
else:
    st.markdown("Aucune géométrie n'a dû être réparée.")

st.subheader("Valeurs signalées", anchor=False)
st.caption("Valeurs manquantes ou peu plausibles dans les sources : montrées telles quelles, "
           "jamais corrigées ; les fiches des quartiers les signalent aussi.")  # fmt: skip
flags = dataset.flags
if flags.empty:
    st.markdown("Aucune valeur signalée.")
else:
    names = dict(zip(dataset.qpv["code"], dataset.qpv["name"], strict=True))
    st.dataframe(
        pd.DataFrame(
            {
                "Quartier": [f"{names.get(c, c)} ({c})" for c in flags["code"]],
                "Périmètres": flags["generation"].astype(str),
                "Donnée": [label_of(c) for c in flags["column"]],
                "Valeur": [fr_number(v, 2) for v in flags["value"]],
                "Motif": flags["reason"],
            }
        ),
        hide_index=True,
        width="stretch",
    )

if report.notes:
    st.subheader("Remarques de la préparation", anchor=False)
    st.markdown("\n".join(f"- {escape_markdown(note)}" for note in report.notes))

st.subheader("Fichiers lus", anchor=False)
st.dataframe(
    pd.DataFrame(
        [
            {
                "Fichier": entry.path,
                "Jeu de données": DATASETS[SOURCES[entry.source].dataset].title
                if entry.source in SOURCES
                else "—",
                "Provenance": ORIGINS.get(entry.origin, entry.origin),
                "Empreinte SHA-256": entry.sha256,
            }
            for entry in report.sources.values()
        ]
    ),
    hide_index=True,
    width="stretch",
)
