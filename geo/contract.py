"""The contrat de ville as the CALL describes it: its aim, pillars, partners, 2020 programming.

The facts are the project's own small file, ``data/contrat_de_ville.json``: each section names
its source (:class:`Source`), and a fact no source gives is not in the file. They are shown as
published (their inconsistencies are computed and shown, not fixed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geo.errors import SchemaError, os_reason_fr

CONTRACT_FILE = Path(__file__).resolve().parent.parent / "data" / "contrat_de_ville.json"
SECTIONS = ("policy", "contract", "pillars", "partners", "programming", "domestic_violence")


@dataclass(frozen=True)
class Source:
    """Where a section's facts come from: a page, and its year when it gives one."""

    label: str
    url: str
    year: int | None


@dataclass(frozen=True)
class ContractFacts:
    """The contrat de ville as the CALL describes it, figures as published."""

    sources: dict[str, Source]  # by section (SECTIONS)
    aim: str
    domains: tuple[str, ...]
    title: str
    start_year: int
    end_year: int
    extended_to: int
    pillars: tuple[tuple[str, bool], ...]  # (title, transversal)
    partners: tuple[str, ...]
    partners_complete: bool  # the source lists every partner (False: « notamment »)
    programming: dict
    domestic_violence: dict

    @property
    def source_label(self) -> str:
        """The contract's own source (the CALL's page)."""
        return self.sources["contract"].label

    @property
    def source_url(self) -> str:
        return self.sources["contract"].url

    @property
    def contributions(self) -> pd.DataFrame:
        """One row per funder: ``funder`` and ``eur``, in the published order."""
        rows = self.programming["contributions"]
        return pd.DataFrame(
            {"funder": [r["funder"] for r in rows], "eur": [r["eur"] for r in rows]}
        )

    @property
    def contributions_sum(self) -> int:
        """Sum of the listed contributions (computed, to compare with the announced total)."""
        return int(self.contributions["eur"].sum())

    @property
    def excess_over_announced(self) -> int:
        """How much the listed contributions exceed the announced funding (0 when they don't)."""
        return max(self.contributions_sum - int(self.programming["funding_mobilised_eur"]), 0)


def load_contract_facts(path: Path = CONTRACT_FILE) -> ContractFacts:
    """Read and check the contrat de ville facts file.

    Raises
    ------
    SchemaError
        When a required field is missing, a section names no known source, or an amount is not
        a non-negative integer.
    """
    name = Path(path).name
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {
            key: Source(str(s["label"]), str(s["url"]), _year(s["year"]))
            for key, s in raw["sources"].items()
        }
        unsourced = [s for s in SECTIONS if raw[s].get("source") not in known]
        programming = raw["programming"]
        violence = raw["domestic_violence"]
        facts = ContractFacts(
            sources={s: known[raw[s]["source"]] for s in SECTIONS if s not in unsourced},
            aim=str(raw["policy"]["aim"]),
            domains=tuple(str(d) for d in raw["policy"]["domains"]),
            title=raw["contract"]["title"],
            start_year=int(raw["contract"]["start_year"]),
            end_year=int(raw["contract"]["end_year"]),
            extended_to=int(raw["contract"]["extended_to"]),
            pillars=tuple((p["title"], bool(p["transversal"])) for p in raw["pillars"]["items"]),
            partners=tuple(raw["partners"]["items"]),
            partners_complete=bool(raw["partners"]["complete"]),
            programming=programming,
            domestic_violence=violence,
        )
        amounts = [
            programming["year"],
            programming["projects"],
            programming["total_eur"],
            programming["funding_mobilised_eur"],
            programming["call_subsidies_eur"],
            violence["eur"],
            violence["associations"],
            *(c["eur"] for c in programming["contributions"]),
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = os_reason_fr(exc) if isinstance(exc, OSError) else repr(exc)
        raise SchemaError(f"{name} : fichier illisible ou incomplet ({detail})") from exc
    if unsourced:
        raise SchemaError(f"{name} : section(s) sans source connue {unsourced}")
    bad = [a for a in amounts if not isinstance(a, int) or isinstance(a, bool) or a < 0]
    if bad:
        raise SchemaError(f"{name} : montants invalides {bad!r}")
    return facts


def _year(value) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"année de source invalide : {value!r}")
    return value
