"""What the map page says in words: the headline of a selection and the fact panels.

- :func:`render_headline`: the figures of the current selection, with their years.
- :func:`render_qpv_panel`: one quartier (identity, population, area, 2024 indicators with their
  flags, what changed between 2015 and 2024, link to its official page).
- :func:`render_commune_panel`: one commune (populations, its quartiers, population in QPV).
- :func:`render_territory_panel`: the territory, until a quartier or a commune is picked.

Each panel offers its printable exports (``ui.factsheet_buttons``).

Every value comes from the processed tables; a missing value is shown as "—" with its flag,
never as zero. Text from the data is escaped for Markdown before it is displayed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

import pandas as pd
import streamlit as st

from geo import generations, style
from geo.compare import INDICATOR_KEYS, METRIC_BY_KEY, communes_with_quartiers
from geo.format import MISSING, fr_int, fr_number, fr_percent
from geo.selection import Summary, latest_population_column, status_label
from geo.sources import DATASETS
from geo.store import Dataset
from geo.territory import STATUS_NEIGHBOURING
from ui.factsheet_buttons import (
    commune_sheet_button,
    dossier_button,
    map_button,
    quartier_sheet_button,
)

GENERATION_LABELS = generations.LABELS
"""How the two generations are named everywhere in the app (in force first)."""

SIG_VILLE_URL = "https://sig.ville.gouv.fr/territoire/{code}"
NO_YEAR = "année non précisée par la source"
ESTIMATE_NOTE = (
    "Estimation : un quartier à cheval sur plusieurs communes est réparti entre elles au "
    "prorata de sa surface dans chacune."
)

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


INDICATORS = tuple(METRIC_BY_KEY[key] for key in INDICATOR_KEYS)
INDICATOR_LABELS = {m.key: m.label for m in INDICATORS} | {"population": "Population"}
"""Processed column -> French label (also used by the sources page's table of flags)."""


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown-active character backslash-escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


# ---------------------------------------------------------------------------------------------
# Headline


def render_headline(summary: Summary, dataset: Dataset, *, year_in_label: bool = False) -> None:
    """The figures of a selection as four metrics, then their years and caveats in words.

    ``year_in_label`` puts the population year in the metric's label, for screens where the
    help tooltips cannot be hovered (a projector).
    """
    year = summary.population_year
    cols = st.columns(4)
    cols[0].metric("Quartiers prioritaires", fr_int(summary.quartiers))
    cols[1].metric(
        "Communes concernées", f"{fr_int(len(summary.communes))} sur {summary.communes_total}"
    )
    cols[2].metric(
        f"Habitants des quartiers en {year}"
        if year and year_in_label
        else "Habitants des quartiers",
        fr_int(summary.population),
        help=f"Population municipale {year} (Insee)" if year else f"Population : {NO_YEAR}",
    )
    cols[3].metric(
        "Part de la population du territoire",
        fr_percent(summary.share_pct),
        help=f"Population municipale {summary.reference_year} des "
        f"{summary.communes_total} communes : {fr_int(summary.reference_population)} habitants",
    )
    population_when = f"en {year} (recensement, Insee)" if year else f"({NO_YEAR})"
    notes = [
        f"Population des quartiers {population_when}, rapportée à la population municipale "
        f"{summary.reference_year} du territoire ({summary.communes_total} communes, "
        f"{fr_int(summary.reference_population)} habitants)"
        + (" : les deux années diffèrent, la part est un ordre de grandeur." if year else ".")
    ]
    if summary.beyond_territory:
        n = len(summary.beyond_territory)
        notes.append(
            f"{n} quartier{'s' if n > 1 else ''} déborde{'nt' if n > 1 else ''} sur une commune "
            "hors du territoire : population comptée en entier."
        )
    if summary.neighbouring:
        n = summary.neighbouring
        notes.append(
            f"{n} quartier{'s' if n > 1 else ''} voisin{'s' if n > 1 else ''} affiché"
            f"{'s' if n > 1 else ''}, hors contrat de ville : non compté{'s' if n > 1 else ''}."
        )
    if summary.population_missing:
        notes.append(f"{summary.population_missing} quartier(s) sans population connue.")
    st.caption(" ".join(notes))


# ---------------------------------------------------------------------------------------------
# Quartier panel


def render_qpv_panel(
    dataset: Dataset,
    code: str,
    *,
    counterpart_toggle_key: str,
    on_open_counterpart: Callable[[str], None] | None = None,
) -> None:
    """The fact panel of one quartier.

    Parameters
    ----------
    code
        A quartier code of either generation (``QP062025``, ``QN06225M``).
    counterpart_toggle_key
        Widget key of the toggle "also draw the other generation's contour" (shown when the
        quartier has a counterpart); the page reads it from ``st.session_state`` for the map.
    on_open_counterpart
        Called with the counterpart's code by the "open its panel" button; no button if None.
    """
    qpv = _attributes(dataset.qpv)
    if code not in qpv.index:
        raise KeyError(f"unknown quartier code {code!r}")
    row = qpv.loc[code]
    generation = int(row["generation"])
    st.subheader(escape_markdown(row["name"]), anchor=False)
    st.caption(
        f"{escape_markdown(code)} · {GENERATION_LABELS[generation]} · "
        f"{escape_markdown(status_label(row['status'], bool(row['shared'])))}"
    )
    _status_notes(dataset, row)
    communes = _attributes(dataset.communes)
    st.markdown("\n".join(f"- {line}" for line in _key_facts(dataset, communes, row)))
    with st.container(horizontal=True, gap="small"):
        quartier_sheet_button(dataset, code, key=f"panel_{code}")
        members = [c for c in row["commune_codes"].split(",") if c in communes.index]
        map_button(
            dataset, key=f"panel_{code}", generation=generation, quartiers=[code], communes=members
        )
    st.link_button(
        "Fiche officielle sur le SIG Ville",
        SIG_VILLE_URL.format(code=quote(code, safe="")),
        icon=":material/open_in_new:",
    )
    _changes(dataset, qpv, row, counterpart_toggle_key, on_open_counterpart)
    _indicators(dataset, row)


def _attributes(table: pd.DataFrame) -> pd.DataFrame:
    """A table without its geometry, indexed by code: GeoDataFrame lookups are much slower."""
    return pd.DataFrame(table.drop(columns=table.geometry.name)).set_index("code", drop=False)


def _status_notes(dataset: Dataset, row: pd.Series) -> None:
    if row["status"] == STATUS_NEIGHBOURING:
        reasons = dataset.report["territory"].get("neighbouring", {})
        reason = reasons.get(row["code"]) or reasons.get(row["predecessor"])
        st.info(
            "Quartier voisin, hors contrat de ville de ce territoire."
            + (f" {escape_markdown(reason)}" if reason else ""),
            icon=":material/info:",
        )
    elif row["shared"]:
        others = [s for s in row["epci_sirens"].split(",") if s != dataset.siren]
        st.info(
            "Quartier partagé avec un autre EPCI (SIREN "
            f"{', '.join(others)}) : une partie de ses habitants vit hors du territoire.",
            icon=":material/info:",
        )


def _key_facts(dataset: Dataset, communes: pd.DataFrame, row: pd.Series) -> list[str]:
    names = row["commune_names"].split(", ")
    codes = row["commune_codes"].split(",")
    listed = [
        f"{escape_markdown(name)} ({code}{'' if code in communes.index else ', hors territoire'})"
        for name, code in zip(names, codes, strict=True)
    ]
    year = row["population_year"]
    when = f" en {int(year)}" if pd.notna(year) else ""  # else the source says it has none
    facts = [
        f"**Commune{'s' if len(codes) > 1 else ''}** : {', '.join(listed)}",
        f"**Population** : {fr_int(row['population'])} habitants{when} (source : "
        f"{escape_markdown(row['population_source'])}){_flag_text(dataset, row, 'population')}",
        f"**Superficie** : {fr_number(row['area_ha'], 1)} ha · **Densité** : "
        f"{fr_int(row['density'])} hab./km²"
        + (
            f" ({generations.SIMPLIFIED_NOTE})"
            if generations.contours_simplified(dataset, int(row["generation"]))
            else ""
        ),
    ]
    ref_year, column = latest_population_column(communes)
    if all(code in communes.index for code in codes) and pd.notna(row["population"]):
        reference = communes.loc[codes, column].sum()
        whose = "de sa commune" if len(codes) == 1 else "de ses communes réunies"
        facts.append(
            f"**Part de la population {whose}** : "
            f"{fr_percent(row['population'] / reference * 100)} (population du quartier "
            f"rapportée à la population municipale {ref_year} : {fr_int(reference)} habitants)"
        )
    else:
        facts.append(
            "**Part de la population de ses communes** : "
            f"{MISSING} (une de ses communes est hors du territoire)"
        )
    return facts


def _flags_of(dataset: Dataset, row: pd.Series) -> pd.DataFrame:
    flags = dataset.flags
    return flags[(flags["code"] == row["code"]) & (flags["generation"] == row["generation"])]


def _flag_text(dataset: Dataset, row: pd.Series, column: str) -> str:
    flags = _flags_of(dataset, row)
    reasons = flags.loc[flags["column"] == column, "reason"]
    return "".join(f" ⚠️ {escape_markdown(r)}" for r in reasons)


def _indicators(dataset: Dataset, row: pd.Series) -> None:
    source = DATASETS["indicateurs2024"]
    st.markdown("**Indicateurs 2024**")
    if int(row["generation"]) != 2024:
        successor = row["successor"]
        where = (
            f" : voir la fiche de {escape_markdown(successor)}."
            if isinstance(successor, str)
            else " ; ce quartier n'a pas de successeur en 2024."
        )
        st.caption("Les indicateurs publiés portent sur les périmètres 2024" + where)
        return
    flags = _flags_of(dataset, row).set_index("column")["reason"]
    values = []
    for indicator in INDICATORS:
        text = indicator.format(row[indicator.key])
        if indicator.key in flags.index:
            text += f" ⚠️ {flags[indicator.key]}"
        values.append(escape_markdown(text))
    table = pd.DataFrame(
        {"Indicateur": [escape_markdown(i.label) for i in INDICATORS], "Valeur": values}
    )
    st.table(table, hide_index=True, border="horizontal")
    st.caption(
        f"Source : {escape_markdown(source.title)} — {escape_markdown(source.producer)}, "
        f"{escape_markdown(source.vintage)}. Les valeurs signalées sont montrées telles que "
        "publiées, jamais corrigées."
    )


def _changes(
    dataset: Dataset,
    qpv: pd.DataFrame,
    row: pd.Series,
    toggle_key: str,
    on_open: Callable[[str], None] | None,
) -> None:
    generation = int(row["generation"])
    other_generation = 2024 if generation == 2015 else 2015
    st.markdown("**Ce qui a changé entre 2015 et 2024**")
    corr = dataset.correspondence
    own, other = ("code_2015", "code_2024") if generation == 2015 else ("code_2024", "code_2015")
    twin = row["successor"] if generation == 2015 else row["predecessor"]
    if not isinstance(twin, str):
        st.markdown(
            "Ce quartier n'a pas de successeur dans les périmètres 2024."
            if generation == 2015
            else "Nouveau quartier en 2024 : il ne prolonge aucun quartier de 2015."
        )
        return
    twin_row = qpv.loc[twin]
    pair = corr[(corr[own] == row["code"]) & (corr[other] == twin)].iloc[0]
    q15, q24 = (row, twin_row) if generation == 2015 else (twin_row, row)
    lines = [
        f"{'Devenu' if generation == 2015 else 'Prolonge'} **{escape_markdown(twin)}** "
        f"({escape_markdown(twin_row['name'])}) {'en 2024' if generation == 2015 else 'de 2015'}.",
        f"Superficie : {fr_number(pair['area_2015_ha'], 1)} ha en 2015, "
        f"{fr_number(pair['area_2024_ha'], 1)} ha en 2024 "
        f"({_signed_percent(pair['area_change_pct'])}).",
        f"Recouvrement : {fr_percent(pair['share_of_2015'] * 100, 0)} du périmètre 2015 est "
        f"dans celui de 2024 ; {fr_percent(pair['share_of_2024'] * 100, 0)} du périmètre 2024 "
        "était déjà dans celui de 2015.",
        f"Population : {fr_int(q15['population'])} habitants en 2013 ; "
        f"{fr_int(q24['population'])} selon la source 2024 ({NO_YEAR}).",
    ]
    others = corr[(corr[own] == row["code"]) & (corr[other] != twin)]
    lines += [
        f"Chevauche aussi {escape_markdown(o[other])} ({fr_number(o['overlap_ha'], 1)} ha)."
        for _, o in others.iterrows()
    ]
    st.markdown("\n".join(f"- {line}" for line in lines))
    st.toggle(
        f"Dessiner aussi le périmètre {other_generation} ({style.COUNTERPART_LOOK})",
        key=toggle_key,
    )
    if on_open is not None:
        st.button(
            f"Ouvrir la fiche {other_generation} ({twin})",
            on_click=on_open,
            args=(twin,),
            icon=":material/swap_horiz:",
        )


def _signed_percent(value) -> str:
    if pd.isna(value):
        return MISSING
    sign = "+" if value > 0 else ""
    return f"{sign}{fr_percent(value)}"


# ---------------------------------------------------------------------------------------------
# Commune panel


def render_commune_panel(
    dataset: Dataset,
    insee: str,
    generation: int,
    *,
    on_open_qpv: Callable[[str], None] | None = None,
) -> None:
    """The fact panel of one commune of the territory, for one generation of quartiers."""
    communes = _attributes(dataset.communes)
    if insee not in communes.index:
        raise KeyError(f"unknown commune code {insee!r}")
    qpv = _attributes(dataset.qpv)
    c = communes.loc[insee]
    st.subheader(escape_markdown(c["name"]), anchor=False)
    st.caption(
        f"Commune, code Insee {insee} · code{'s' if ',' in c['postal_codes'] else ''} postal "
        f"{escape_markdown(c['postal_codes'].replace(',', ', '))}"
    )
    years = sorted(
        (int(col.removeprefix("pmun_")), c[col]) for col in communes.columns
        if col.startswith("pmun_")
    )  # fmt: skip
    latest_year, latest = years[-1]
    earlier = ", ".join(f"{fr_int(v)} en {y}" for y, v in reversed(years[:-1]))
    st.markdown(
        f"**Population municipale** : {fr_int(latest)} habitants en {latest_year}"
        + (f" ({earlier})" if earlier else "")
        + " (Insee)"
    )
    codes = [x for x in c[f"qpv_codes_{generation}"].split(",") if x]
    label = f"périmètres {generation}"
    if not codes:
        st.markdown(f"Aucun quartier prioritaire du contrat de ville ({label}).")
    else:
        pop = c[f"pop_qpv_{generation}"]
        estimated = bool(c[f"pop_qpv_{generation}_estimated"])
        year = qpv.loc[codes[0], "population_year"]
        when = f"en {int(year)}" if pd.notna(year) else f"({NO_YEAR})"
        st.markdown(
            f"**Population en quartier prioritaire** : {'environ ' if estimated else ''}"
            f"{fr_int(pop)} habitants {when}"
            + (" — estimation" if estimated else "")
            + f", soit {fr_percent(c[f'share_qpv_{generation}'])} de la population municipale "
            f"{latest_year}."
        )
        if estimated:
            st.caption(ESTIMATE_NOTE)
        n = len(codes)
        st.markdown(f"**{n} quartier{'s' if n > 1 else ''} du contrat de ville** ({label}) :")
        for code in codes:
            _quartier_line(qpv.loc[code], code, on_open_qpv)
    _neighbours_of_commune(qpv, insee, generation)
    with st.container(horizontal=True, gap="small"):
        commune_sheet_button(dataset, insee, generation, key=f"panel_{insee}")
        map_button(
            dataset, key=f"panel_{insee}", generation=generation, communes=[insee], named=codes
        )


def _quartier_line(row: pd.Series, code: str, on_open: Callable[[str], None] | None) -> None:
    text = escape_markdown(f"{row['name']} ({code}), {fr_int(row['population'])} habitants")
    if on_open is None:
        st.markdown(f"- {text}")
    else:
        st.button(text, key=f"panel_open_{code}", on_click=on_open, args=(code,),
                  type="tertiary", icon=":material/arrow_forward:")  # fmt: skip


def _neighbours_of_commune(qpv: pd.DataFrame, insee: str, generation: int) -> None:
    near = qpv[
        (qpv["generation"] == generation)
        & (qpv["status"] == STATUS_NEIGHBOURING)
        & qpv["commune_codes"].map(lambda codes: insee in codes.split(","))
    ]
    for code, name in zip(near["code"], near["name"], strict=True):
        st.caption(
            f"Touche aussi le quartier voisin {escape_markdown(name)} ({code}), hors contrat de "
            "ville de ce territoire."
        )


# ---------------------------------------------------------------------------------------------
# Territory panel


def render_territory_panel(
    dataset: Dataset,
    selected: pd.DataFrame,
    generation: int,
    *,
    commune_picker_key: str,
    on_pick_commune: Callable[[], None],
) -> None:
    """The territory's panel, shown until a quartier or a commune is picked.

    Parameters
    ----------
    selected
        The quartiers of the current view (``geo.selection.select_qpv``): the dossier has one
        page for each, and the map image shows them.
    commune_picker_key
        Widget key of the « Fiche d'une commune » list; ``on_pick_commune`` reads it.
    """
    st.subheader(escape_markdown(dataset.territory_name), anchor=False)
    st.caption(
        f"Territoire (EPCI, SIREN {dataset.siren}) · {len(dataset.communes)} communes · "
        f"{GENERATION_LABELS[generation]}"
    )
    holding = communes_with_quartiers(dataset, generation)
    listed = ", ".join(
        f"{escape_markdown(name)} ({n})"
        for name, n in zip(holding["name"], holding["n_qpv"], strict=True)
    )
    st.markdown(
        f"**{len(holding)} communes comptent un quartier du contrat de ville** (nombre de "
        f"quartiers, périmètres {generation}) : {listed}."
    )
    st.selectbox(
        "Fiche d'une commune",
        list(holding["code"]),
        format_func=dict(zip(holding["code"], holding["name"], strict=True)).get,
        index=None,
        placeholder="Choisir une commune…",
        key=commune_picker_key,
        on_change=on_pick_commune,
    )
    codes = list(selected["code"])
    with st.container(horizontal=True, gap="small"):
        dossier_button(dataset, codes, generation, key="panel_territory")
        map_button(dataset, key="panel_territory", generation=generation)
    st.caption(
        "Cliquez sur un quartier ou sur une commune de la carte, ou choisissez un quartier dans "
        "la liste, pour afficher sa fiche. Le dossier de séance compte une page de vue "
        "d'ensemble, puis une page par quartier affiché."
    )
