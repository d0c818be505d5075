"""What the map page says in words: the headline of a selection and the fact panels.

- :func:`headline_html`: the figures of the current selection, with their years.
- :func:`render_qpv_panel`: one quartier (identity, population, area, 2024 indicators with their
  flags, what changed between 2015 and 2024, link to its official page).
- :func:`render_commune_panel`: one commune (populations, its quartiers, population in QPV).
- :func:`render_territory_panel`: the territory, until a quartier or a commune is picked.

Each panel offers its printable exports (``ui.factsheet_buttons``).

Every value comes from the processed tables; a missing value is shown as "—" with its flag,
never as zero. Text from the data is escaped for Markdown before it is displayed.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import pandas as pd
import streamlit as st

from geo import generations, style
from geo.facts import ESTIMATE_NOTE, summary_facts
from geo.format import MISSING, fr_int, fr_percent
from geo.metrics import AREA_CHANGE, METRIC_BY_KEY
from geo.quartier import (
    FLAG_MARK,
    SHORT_SOURCES,
    Quartier,
    marked,
    population_source,
    status_notes,
)
from geo.selection import Summary
from geo.sources import DATASETS, sig_ville_page
from geo.store import Dataset
from ui.derived import (  # kept per build, not per run
    attributes,
    communes_with_quartiers,
    neighbouring_quartiers,
)
from ui.factsheet_buttons import (
    commune_sheet_button,
    dossier_button,
    map_button,
    quartier_sheet_button,
)
from ui.figures import HEADLINE, fact_book, figures_html
from ui.markdown import escape_markdown

NO_YEAR = f"{generations.NO_YEAR} par la source"
AREA = METRIC_BY_KEY["area_ha"]


# ---------------------------------------------------------------------------------------------
# Headline


def headline_html(summary: Summary, dataset: Dataset, *, empty: str | None = None) -> str:
    """The generation shown, the figures of a selection (each with its year and source under
    it), their caveats in words, and ``empty`` (a message for a selection without quartiers),
    as HTML for ``ui.figures.render_html``: one element, for a filter change reruns the page
    and each element costs the server as much as the figures themselves (bench/bench_map.py).
    Every text is escaped.
    """
    label = generations.LABELS[summary.generation]
    parts = [
        f'<div class="{HEADLINE}">',
        f'<p class="{HEADLINE}-label"><strong>{html.escape(label, quote=False)}</strong></p>',
        figures_html(summary_facts(dataset, summary), columns=4),
    ]
    if empty:
        parts.append(f'<p class="{HEADLINE}-empty" role="status">{html.escape(empty)}</p>')
    notes = html.escape(" ".join(headline_notes(summary, dataset)), quote=False)
    parts.append(f'<p class="{HEADLINE}-notes">{notes}</p></div>')
    return "".join(parts)


def headline_notes(summary: Summary, dataset: Dataset) -> list[str]:
    """The caveats of the headline figures (plain French sentences)."""
    year = summary.population_year
    source = population_source(dataset, summary.generation)
    perimeters = f"{SHORT_SOURCES['qpv']}, périmètres {summary.generation}"
    population_when = f"en {year}" if year else f"({NO_YEAR})"
    notes = [
        f"Quartiers et communes : {perimeters}. Population des quartiers {population_when} "
        f"({source}), rapportée à la population municipale "
        f"{summary.reference_year} du territoire ({summary.communes_total} communes, "
        f"{fr_int(summary.reference_population)} habitants, {SHORT_SOURCES['communes']})"
        + (" : les deux années diffèrent, la part est un ordre de grandeur." if year else ".")
    ]
    if summary.spanning:
        n = len(summary.spanning)
        notes.append(
            f"{n} quartier{'s' if n > 1 else ''} de la sélection s'étend{'ent' if n > 1 else ''} "
            "aussi sur une autre commune que celle(s) choisie(s) : sa population est comptée en "
            "entier dans ces chiffres (la part de chaque commune, estimée, est dans sa fiche)."
            if n == 1
            else f"{n} quartiers de la sélection s'étendent aussi sur d'autres communes que "
            "celle(s) choisie(s) : leur population est comptée en entier dans ces chiffres (la "
            "part de chaque commune, estimée, est dans sa fiche)."
        )
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
    return notes


# ---------------------------------------------------------------------------------------------
# Quartier panel


def render_qpv_panel(
    dataset: Dataset,
    code: str,
    *,
    counterpart_toggle_key: str,
    on_open_counterpart: Callable[[str], None] | None = None,
) -> None:
    """The fact panel of one quartier (its facts: ``geo.quartier.Quartier``).

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
    book = fact_book(dataset)
    if code not in set(dataset.qpv["code"]):
        raise KeyError(f"unknown quartier code {code!r}")
    quartier = book.quartier(code)
    st.subheader(escape_markdown(quartier.name), anchor=False)
    st.caption(
        f"{escape_markdown(code)} · {generations.LABELS[quartier.generation]} · "
        f"{escape_markdown(quartier.status_label)}"
    )
    for note in status_notes(quartier, escape=escape_markdown):
        st.info(note, icon=":material/info:")
    st.markdown("\n".join(f"- {line}" for line in _key_facts(quartier)))
    with st.container(horizontal=True, gap="small"):
        quartier_sheet_button(dataset, code, key=f"panel_{code}")
        members = [c for c in quartier.commune_codes if c not in quartier.outside_territory]
        map_button(
            dataset,
            key=f"panel_{code}",
            generation=quartier.generation,
            quartiers=[code],
            communes=members,
        )
    st.link_button(
        "Fiche officielle sur le SIG Ville", sig_ville_page(code), icon=":material/open_in_new:"
    )
    _changes(dataset, quartier, counterpart_toggle_key, on_open_counterpart)
    _indicators(quartier)


def _key_facts(quartier: Quartier) -> list[str]:
    listed = [
        f"{escape_markdown(name)} ({code}"
        f"{', hors territoire' if code in quartier.outside_territory else ''})"
        for name, code in zip(quartier.commune_names, quartier.commune_codes, strict=True)
    ]
    population, area, density, share = (
        quartier.facts[key] for key in ("population", "area_ha", "density", "share_of_commune_pct")
    )
    # The population's year, when its source gives one.
    when = "" if population.year == generations.NO_YEAR else f" en {population.year}"
    flag = quartier.flag("population")
    plural = "s" if len(quartier.commune_codes) > 1 else ""
    facts = [
        f"**Commune{plural}** : {', '.join(listed)}",
        f"**Population** : {fr_int(population.value)} habitants{when} (source : "
        f"{escape_markdown(quartier.population_source)})"
        + (f" ⚠️ {escape_markdown(flag.reason)}" if flag else ""),
        f"**Superficie** : {area.text} ({escape_markdown(area.provenance)}) · **Densité** : "
        f"{density.text} ({escape_markdown(density.provenance)})",
    ]
    if quartier.communes_population is not None and population.value is not None:
        whose = "de sa commune" if len(quartier.commune_codes) == 1 else "de ses communes réunies"
        facts.append(
            f"**Part de la population {whose}** : {share.text} (population du "
            f"quartier rapportée à la population municipale {quartier.reference_year} : "
            f"{fr_int(quartier.communes_population)} habitants ; "
            f"{escape_markdown(share.provenance)})"
        )
    else:
        facts.append(
            "**Part de la population de ses communes** : "
            f"{MISSING} (une de ses communes est hors du territoire)"
        )
    return facts


def _indicators(quartier: Quartier) -> None:
    source = DATASETS["indicateurs2024"]
    st.markdown(f"**Indicateurs {generations.IN_FORCE}**")
    if not quartier.indicators:
        twin = quartier.counterpart
        where = (
            f" : voir la fiche de {escape_markdown(twin)}."
            if twin
            else f" ; ce quartier n'a pas de successeur en {generations.IN_FORCE}."
        )
        st.caption(
            f"Les indicateurs publiés portent sur les périmètres {generations.IN_FORCE}" + where
        )
        return
    values = []
    for fact in quartier.indicators:
        flag = quartier.flag(fact.key)
        # A flagged value as published, marked, with the build's reason: never corrected.
        text = fact.text if flag is None else f"{marked(fact.text, True)} {flag.reason}"
        values.append(escape_markdown(text))
    table = pd.DataFrame(
        {"Indicateur": [escape_markdown(f.label) for f in quartier.indicators], "Valeur": values}
    )
    st.table(table, hide_index=True, border="horizontal")
    st.caption(
        f"Année et source : {escape_markdown(quartier.indicators[0].provenance)} "
        f"({escape_markdown(source.title)} — {escape_markdown(source.producer)}). Les valeurs "
        f"signalées ({FLAG_MARK}) sont montrées telles que publiées, jamais corrigées."
    )


def _changes(
    dataset: Dataset,
    quartier: Quartier,
    toggle_key: str,
    on_open: Callable[[str], None] | None,
) -> None:
    generation = quartier.generation
    other_generation = generations.other(generation)
    previous = generation == generations.PREVIOUS
    st.markdown(f"**Ce qui a changé entre {generations.PREVIOUS} et {generations.IN_FORCE}**")
    twin = quartier.counterpart
    if twin is None:
        st.markdown(
            f"Ce quartier n'a pas de successeur dans les périmètres {generations.IN_FORCE}."
            if previous
            else f"Nouveau quartier en {generations.IN_FORCE} : il ne prolonge aucun quartier "
            f"de {generations.PREVIOUS}."
        )
        return
    book = fact_book(dataset)
    other = book.quartier(twin)
    corr = dataset.correspondence
    own = f"code_{generation}"
    theirs = f"code_{other_generation}"
    pair = corr[(corr[own] == quartier.code) & (corr[theirs] == twin)].iloc[0]
    q15, q24 = (quartier, other) if previous else (other, quartier)
    p15, p24 = q15.facts["population"], q24.facts["population"]
    a15, a24 = q15.facts["area_ha"], q24.facts["area_ha"]
    approximate = bool(a15.note or a24.note)  # either is computed on simplified contours
    change = AREA_CHANGE.signed(pair["area_change_pct"], simplified=approximate)
    shapes = " ; ".join(
        f"{g} : {fact.note}"
        for g, fact in ((generations.PREVIOUS, a15), (generations.IN_FORCE, a24))
        if fact.note
    )
    lines = [
        f"{'Devenu' if previous else 'Prolonge'} **{escape_markdown(twin)}** "
        f"({escape_markdown(other.name)}) {'en' if previous else 'de'} {other_generation}.",
        f"Superficie : {a15.text} en {generations.PREVIOUS}, {a24.text} en "
        f"{generations.IN_FORCE} ({change}) ; source : {escape_markdown(SHORT_SOURCES['qpv'])}"
        + (f" ({shapes})" if shapes else "")
        + ".",
        f"Recouvrement : {fr_percent(pair[f'share_of_{generations.PREVIOUS}'] * 100, 0)} du "
        f"périmètre {generations.PREVIOUS} est dans celui de {generations.IN_FORCE} ; "
        f"{fr_percent(pair[f'share_of_{generations.IN_FORCE}'] * 100, 0)} du périmètre "
        f"{generations.IN_FORCE} était déjà dans celui de {generations.PREVIOUS}.",
        f"Population : {fr_int(p15.value)} habitants en {p15.year} "
        f"({escape_markdown(p15.source)}) ; {fr_int(p24.value)} selon la source "
        f"{generations.IN_FORCE} ({escape_markdown(p24.source)}, {_year_said(p24.year)}).",
    ]
    others = corr[(corr[own] == quartier.code) & (corr[theirs] != twin)]
    lines += [
        f"Chevauche aussi {escape_markdown(o[theirs])} "
        f"({AREA.format(o['overlap_ha'], simplified=approximate)})."
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


def _year_said(year: str) -> str:
    return NO_YEAR if year == generations.NO_YEAR else year


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
    communes = attributes(dataset, "communes")
    if insee not in communes.index:
        raise KeyError(f"unknown commune code {insee!r}")
    book = fact_book(dataset)
    c = communes.loc[insee]
    st.subheader(escape_markdown(c["name"]), anchor=False)
    years = sorted(
        (int(col.removeprefix("pmun_")), c[col]) for col in communes.columns
        if col.startswith("pmun_")
    )  # fmt: skip
    latest_year, latest = years[-1]
    earlier = ", ".join(f"{fr_int(v)} en {y}" for y, v in reversed(years[:-1]))
    # The texts go in one element (paragraphs): the panel is sent again on every rerun.
    texts = [
        f":small[Commune, code Insee {insee} · code{'s' if ',' in c['postal_codes'] else ''} "
        f"postal {escape_markdown(c['postal_codes'].replace(',', ', '))}]",
        f"**Population municipale** : {fr_int(latest)} habitants en {latest_year}"
        + (f" ({earlier})" if earlier else "")
        + " (Insee)",
    ]
    codes = book.commune_quartiers(insee, generation)
    label = f"périmètres {generation}"
    if not codes:
        texts.append(f"Aucun quartier prioritaire du contrat de ville ({label}).")
        st.markdown("\n\n".join(texts))
    else:
        facts = {fact.key: fact for fact in book.commune(insee, generation)}
        in_qpv, share = facts["population_qpv"], facts["share_qpv_pct"]
        when = f"({NO_YEAR})" if in_qpv.year == generations.NO_YEAR else f"en {in_qpv.year}"
        texts.append(
            f"**Population en quartier prioritaire** : {in_qpv.text} habitants {when} "
            f"({escape_markdown(in_qpv.source)})"
            + (" — estimation" if in_qpv.note else "")
            + f", soit {share.text} de la population municipale {book.reference_year}."
        )
        if in_qpv.note:
            texts.append(f":small[{escape_markdown(ESTIMATE_NOTE)}]")
        n = len(codes)
        texts.append(f"**{n} quartier{'s' if n > 1 else ''} du contrat de ville** ({label}) :")
        st.markdown("\n\n".join(texts))
        for code in codes:
            _quartier_line(book.quartier(code), on_open_qpv)
    _neighbours_of_commune(dataset, insee, generation)
    with st.container(horizontal=True, gap="small"):
        commune_sheet_button(dataset, insee, generation, key=f"panel_{insee}")
        map_button(
            dataset, key=f"panel_{insee}", generation=generation, communes=[insee], named=codes
        )


def _quartier_line(quartier: Quartier, on_open: Callable[[str], None] | None) -> None:
    population = quartier.facts["population"]
    text = escape_markdown(
        f"{quartier.name} ({quartier.code}), {fr_int(population.value)} habitants "
        f"({population.year})"
    )
    if on_open is None:
        st.markdown(f"- {text}")
    else:
        st.button(
            text,
            key=f"panel_open_{quartier.code}",
            on_click=on_open,
            args=(quartier.code,),
            type="tertiary",
            icon=":material/arrow_forward:",
        )


def _neighbours_of_commune(dataset: Dataset, insee: str, generation: int) -> None:
    for code, name in neighbouring_quartiers(dataset, insee, generation):  # kept per build
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
    holding = communes_with_quartiers(dataset, generation)
    listed = ", ".join(
        f"{escape_markdown(name)} ({n})"
        for name, n in zip(holding["name"], holding["n_qpv"], strict=True)
    )
    # One element for the texts: the panel is sent again on every filter change.
    st.markdown(
        f":small[Territoire (EPCI, SIREN {dataset.siren}) · {len(dataset.communes)} communes · "
        f"{generations.LABELS[generation]}]\n\n"
        f"**{len(holding)} communes comptent un quartier du contrat de ville** (nombre de "
        f"quartiers ; {SHORT_SOURCES['qpv']}, périmètres {generation}) : {listed}.\n\n"
        ":small[Cliquez sur un quartier ou sur une commune de la carte, ou choisissez un quartier "
        "dans la liste, pour afficher sa fiche. Le dossier de séance compte une page de vue "
        "d'ensemble, puis une page par quartier affiché.]"
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
