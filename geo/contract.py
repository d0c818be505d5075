"""The contrat de ville as the CALL describes it: pillars, partners, 2020 programming figures.

The figures are the project's own small facts file, ``data/contrat_de_ville.json``, with its
source; they are shown as published (their inconsistencies are computed and shown, not fixed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geo.errors import SchemaError, os_reason_fr

CONTRACT_FILE = Path(__file__).resolve().parent.parent / "data" / "contrat_de_ville.json"


@dataclass(frozen=True)
class ContractFacts:
    """The contrat de ville as the CALL describes it, figures as published."""

    source_label: str
    source_url: str
    title: str
    start_year: int
    end_year: int
    extended_to: int
    pillars: tuple[tuple[str, bool], ...]  # (title, transversal)
    partners: tuple[str, ...]
    programming: dict
    related_programmes: tuple[tuple[str, str], ...]  # (title, summary)

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
        When a required field is missing or an amount is not a non-negative integer.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        programming = raw["programming"]
        facts = ContractFacts(
            source_label=raw["source"]["label"],
            source_url=raw["source"]["url"],
            title=raw["contract"]["title"],
            start_year=int(raw["contract"]["start_year"]),
            end_year=int(raw["contract"]["end_year"]),
            extended_to=int(raw["contract"]["extended_to"]),
            pillars=tuple((p["title"], bool(p["transversal"])) for p in raw["pillars"]),
            partners=tuple(raw["partners"]),
            programming=programming,
            related_programmes=tuple((r["title"], r["summary"]) for r in raw["related_programmes"]),
        )
        amounts = [
            programming["projects"],
            programming["total_eur"],
            programming["funding_mobilised_eur"],
            programming["call_subsidies_eur"],
            programming["domestic_violence"]["eur"],
            programming["domestic_violence"]["associations"],
            *(c["eur"] for c in programming["contributions"]),
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        detail = os_reason_fr(exc) if isinstance(exc, OSError) else repr(exc)
        raise SchemaError(f"{Path(path).name} : fichier illisible ou incomplet ({detail})") from exc
    bad = [a for a in amounts if not isinstance(a, int) or isinstance(a, bool) or a < 0]
    if bad:
        raise SchemaError(f"{Path(path).name} : montants invalides {bad!r}")
    return facts
