"""What the pages derive from the tables on every run, computed once per build of the tables.

None of these change between reruns, yet the pages asked for them on each one: the tables
without their geometry (GeoDataFrame lookups and copies are slow), the communes holding
quartiers and the guided tour (``geo.selection``, about 80 ms each: one pass per commune), the
quartiers and headline figures of a set of filters. Here they are kept for the process, per
build (and generation, or filters), like the map's layers (``ui.mapview``). The results are
shared by every session: read them, never modify them.

They are kept with ``functools.lru_cache``, keyed by the build's identity
(``Dataset.fingerprint``) and the arguments, not with ``st.cache_resource``: a rerun of the map
page asks for about ten of them, and Streamlit hashing each key cost more than most of the
values themselves (bench/bench_map.py, server CPU per rerun).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import pandas as pd

from geo import selection
from geo.store import Dataset
from geo.territory import STATUS_NEIGHBOURING
from ui.memory import keep_for_process

Table = Literal["qpv", "communes"]
T = TypeVar("T")


@dataclass(frozen=True)
class _Build:
    """A build of a territory's tables, as a cache key: equal and hashed by its identity only.

    The dataset itself is held weakly: a key must not keep a replaced dataset alive.
    """

    siren: str
    fingerprint: str
    dataset: weakref.ref[Dataset] = field(compare=False)


def per_build(maxsize: int = 8) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Keep ``fn(dataset, *args)`` for the process, per build of the tables and arguments
    (hashable), the ``maxsize`` most recent. The values are shared: never modify them."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.lru_cache(maxsize=maxsize)
        def cached(build: _Build, *args):
            return fn(build.dataset(), *args)  # alive: the caller holds it

        @functools.wraps(fn)
        def call(dataset: Dataset, *args):
            return cached(_Build(dataset.siren, dataset.fingerprint, weakref.ref(dataset)), *args)

        return call

    return decorate


@per_build()
def attributes(dataset: Dataset, table: Table) -> pd.DataFrame:
    """``dataset.qpv`` or ``dataset.communes`` without geometry, indexed by code (read only).

    The ``code`` column stays. Texts are Python objects, not Arrow strings: picking rows of this
    small table (a selection, on every filter change) then takes one NumPy step for all of them
    instead of one Arrow call per column, three times as fast.
    """
    frame = getattr(dataset, table)
    plain = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    plain = plain.astype({c: object for c in plain.columns if plain[c].dtype == "str"})
    return keep_for_process(plain.set_index("code", drop=False))


@per_build()
def communes_with_quartiers(dataset: Dataset, generation: int) -> pd.DataFrame:
    """``geo.selection.communes_with_quartiers``, once per build and generation (read only)."""
    return keep_for_process(selection.communes_with_quartiers(dataset, generation))


@per_build()
def commune_choices(dataset: Dataset, generation: int) -> dict[str, str]:
    """``geo.selection.commune_choices`` of the territory's communes, once per generation."""
    return keep_for_process(selection.commune_choices(attributes(dataset, "communes"), generation))


@per_build()
def tour(dataset: Dataset, generation: int) -> tuple[selection.Step, ...]:
    """``geo.selection.tour``, once per build and generation."""
    return keep_for_process(selection.tour(dataset, generation))


def quartiers_of_commune(dataset: Dataset, commune: str, generation: int) -> tuple[str, ...]:
    """The quartiers of ``commune`` in the tour's order (``geo.selection.quartiers_of_commune``)."""
    holding = communes_with_quartiers(dataset, generation)
    found = holding.loc[holding["code"] == commune, "qpv_codes"]
    return found.iloc[0] if len(found) else ()


@per_build()
def quartier_codes(dataset: Dataset, generation: int) -> frozenset[str]:
    """Codes of every quartier of ``generation`` (contract and neighbouring), once per build."""
    qpv = attributes(dataset, "qpv")
    return keep_for_process(frozenset(qpv.loc[qpv["generation"] == generation, "code"]))


@per_build()
def _neighbouring(dataset: Dataset, generation: int) -> dict[str, tuple[tuple[str, str], ...]]:
    qpv = attributes(dataset, "qpv")
    near = qpv[(qpv["generation"] == generation) & (qpv["status"] == STATUS_NEIGHBOURING)]
    by_commune: dict[str, list[tuple[str, str]]] = {}
    for code, name, communes in zip(near["code"], near["name"], near["commune_codes"], strict=True):
        for insee in communes.split(","):
            by_commune.setdefault(insee, []).append((code, name))
    return keep_for_process({insee: tuple(pairs) for insee, pairs in by_commune.items()})


def neighbouring_quartiers(
    dataset: Dataset, commune: str, generation: int
) -> tuple[tuple[str, str], ...]:
    """``(code, name)`` of the neighbouring quartiers (another EPCI's contract) that touch
    ``commune``, in table order, once per build and generation."""
    return _neighbouring(dataset, generation).get(commune, ())


@per_build(maxsize=64)
def selection_of(dataset: Dataset, filters: selection.Filters):
    """``(quartiers, summary)`` of ``filters``: ``geo.selection.select_qpv`` on the table
    without geometry, then ``summarize`` (read only; the last 64 sets of filters are kept).

    Not frozen (``ui.memory``): one per set of filters, they come and go.
    """
    chosen = selection.select_qpv(attributes(dataset, "qpv"), filters)
    summary = selection.summarize(
        chosen,
        attributes(dataset, "communes"),  # without geometry: its look-ups are faster
        generation=filters.generation,
        commune_filter=filters.communes,
    )
    return chosen, summary
