"""What the pages derive from the tables on every run, computed once per build of the tables.

None of these change between reruns, yet the pages asked for them on each one: the tables
without their geometry (GeoDataFrame lookups and copies are slow), the communes holding
quartiers and the guided tour (``geo.selection``, about 80 ms each: one pass per commune), the
quartiers and headline figures of a set of filters. Here they are kept for the process, per
build (and generation, or filters), like the map's layers (``ui.mapview``). The results are
shared by every session: read them, never modify them.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st

from geo import selection
from geo.store import Dataset
from geo.territory import STATUS_NEIGHBOURING
from ui.mapview import fingerprint
from ui.memory import keep_for_process

Table = Literal["qpv", "communes"]


@st.cache_resource(show_spinner=False, max_entries=8)
def _attributes(siren: str, build: str, table: Table, *, _dataset: Dataset) -> pd.DataFrame:
    frame = getattr(_dataset, table)
    plain = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return keep_for_process(plain.set_index("code", drop=False))


@st.cache_resource(show_spinner=False, max_entries=8)
def _communes(siren: str, build: str, generation: int, *, _dataset: Dataset) -> pd.DataFrame:
    return keep_for_process(selection.communes_with_quartiers(_dataset, generation))


@st.cache_resource(show_spinner=False, max_entries=8)
def _tour(siren: str, build: str, generation: int, *, _dataset: Dataset):
    return keep_for_process(selection.tour(_dataset, generation))


@st.cache_resource(show_spinner=False, max_entries=8)
def _codes(siren: str, build: str, generation: int, *, _dataset: Dataset) -> frozenset[str]:
    qpv = attributes(_dataset, "qpv")
    return keep_for_process(frozenset(qpv.loc[qpv["generation"] == generation, "code"]))


@st.cache_resource(show_spinner=False, max_entries=8)
def _neighbouring(
    siren: str, build: str, generation: int, *, _dataset: Dataset
) -> dict[str, tuple[tuple[str, str], ...]]:
    qpv = attributes(_dataset, "qpv")
    near = qpv[(qpv["generation"] == generation) & (qpv["status"] == STATUS_NEIGHBOURING)]
    by_commune: dict[str, list[tuple[str, str]]] = {}
    for code, name, communes in zip(near["code"], near["name"], near["commune_codes"], strict=True):
        for insee in communes.split(","):
            by_commune.setdefault(insee, []).append((code, name))
    return keep_for_process({insee: tuple(pairs) for insee, pairs in by_commune.items()})


@st.cache_resource(show_spinner=False, max_entries=64)
def _selection(siren: str, build: str, filters: selection.Filters, *, _dataset: Dataset):
    chosen = selection.select_qpv(attributes(_dataset, "qpv"), filters)
    summary = selection.summarize(
        chosen,
        attributes(_dataset, "communes"),  # without geometry: its look-ups are faster
        generation=filters.generation,
        commune_filter=filters.communes,
    )
    return chosen, summary  # not frozen (ui.memory): one per set of filters, they come and go


def _build_of(dataset: Dataset) -> dict[str, str]:
    # The cached functions are called with keyword arguments: for each positional one,
    # Streamlit 1.67 reads the function's signature again (``inspect``) on every look-up,
    # about a tenth of a rerun's server CPU on the map page (bench/bench_map.py).
    return {"siren": dataset.siren, "build": fingerprint(dataset)}


def attributes(dataset: Dataset, table: Table) -> pd.DataFrame:
    """``dataset.qpv`` or ``dataset.communes`` without geometry, indexed by code (read only).

    The ``code`` column stays.
    """
    return _attributes(**_build_of(dataset), table=table, _dataset=dataset)


def communes_with_quartiers(dataset: Dataset, generation: int) -> pd.DataFrame:
    """``geo.selection.communes_with_quartiers``, once per build and generation (read only)."""
    return _communes(**_build_of(dataset), generation=generation, _dataset=dataset)


def tour(dataset: Dataset, generation: int) -> tuple[selection.Step, ...]:
    """``geo.selection.tour``, once per build and generation."""
    return _tour(**_build_of(dataset), generation=generation, _dataset=dataset)


def quartiers_of_commune(dataset: Dataset, commune: str, generation: int) -> tuple[str, ...]:
    """The quartiers of ``commune`` in the tour's order (``geo.selection.quartiers_of_commune``)."""
    holding = communes_with_quartiers(dataset, generation)
    found = holding.loc[holding["code"] == commune, "qpv_codes"]
    return found.iloc[0] if len(found) else ()


def quartier_codes(dataset: Dataset, generation: int) -> frozenset[str]:
    """Codes of every quartier of ``generation`` (contract and neighbouring), once per build."""
    return _codes(**_build_of(dataset), generation=generation, _dataset=dataset)


def neighbouring_quartiers(
    dataset: Dataset, commune: str, generation: int
) -> tuple[tuple[str, str], ...]:
    """``(code, name)`` of the neighbouring quartiers (another EPCI's contract) that touch
    ``commune``, in table order, once per build and generation."""
    found = _neighbouring(**_build_of(dataset), generation=generation, _dataset=dataset)
    return found.get(commune, ())


def selection_of(dataset: Dataset, filters: selection.Filters):
    """``(quartiers, summary)`` of ``filters``: ``geo.selection.select_qpv`` on the table
    without geometry, then ``summarize`` (read only; the last 64 sets of filters are kept)."""
    return _selection(**_build_of(dataset), filters=filters, _dataset=dataset)
