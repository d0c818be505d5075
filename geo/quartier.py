"""One quartier's facts, computed once: the only source of what is said about a quartier.

- :class:`Fact`: one figure in French with its year (or « année non précisée ») and its source.
- :func:`quartier_table`: the figures of every quartier of a generation (population, area,
  density, share of its communes' population, the published indicators), unrounded, each
  row's flags explained in French. A value the build flagged is kept as published and marked
  (:data:`FLAG_MARK`) wherever it is printed: never blanked.
- :class:`Quartier`: one quartier as a typed object (identity, status and its label, the
  contract's EPCI, the neighbour's reason, communes, figures as facts, indicators, flags,
  counterpart), read by the map's panel, the comparison, the sheets, the presentation and the
  exports. :class:`Quartiers` builds them from a dataset, each generation's table once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo import generations
from geo.errors import InputError
from geo.format import SEP, fr_number
from geo.metrics import INDICATOR_KEYS, METRIC_BY_KEY, metrics_for
from geo.sources import COG_YEAR
from geo.store import NAME_SEP, Dataset, latest_population_column
from geo.territory import STATUS_NEIGHBOURING

NO_YEAR = generations.NO_YEAR
KIND = "quartier"  # the ``kind`` of a quartier's row in comparison tables
IDENTITY = ("kind", "code", "name", "communes", "generation", "population_year")
COLUMNS = [*IDENTITY, *METRIC_BY_KEY, "simplified", "flagged", "flags"]
"""Columns of a comparison table (quartiers, communes, territory and median alike).

``simplified``: its areas and densities come from simplified contours (printed with fewer
digits, ``geo.metrics.Metric.precision``); ``flagged``: the metric keys whose published value
the build flagged (comma-separated), each printed with :data:`FLAG_MARK`; ``flags``: every flag
of the row, in French."""
FLAG_MARK = "⚠️"
"""Printed after a value the build flagged (its reason is given beside it or in the remarks)."""

SHORT_SOURCES = {
    "qpv": "ANCT",
    "indicateurs2024": "compilation SIG Ville / Insee",
    "communes": "Insee, populations légales",
    "contours_communes": "IGN ADMIN EXPRESS, contours simplifiés",
}
"""Short forms of the producers in ``geo.sources.DATASETS``, for narrow columns."""
HEADLINE = ("population", "area_ha", "density", "share_of_commune_pct")
"""A quartier's figures shown first (with indicators, :data:`HEADLINE_INDICATORS` follow)."""
HEADLINE_INDICATORS = ("taux_pauvrete", "taux_emploi")

STATUS_LABELS = {
    "contrat": "Contrat de ville",
    "partage": "Contrat de ville, partagé avec un autre EPCI",
    STATUS_NEIGHBOURING: "Quartier voisin (hors contrat de ville)",
}


@dataclass(frozen=True)
class Fact:
    """One figure: its French text, the year it describes, its source, and any caveat."""

    key: str
    label: str
    value: object  # the number as stored (None when missing), or text for composite figures
    text: str  # the value in French, with its unit ("2 215 hab.", "23,3 %", "—")
    year: str  # "2013", "2023", "2013 et 2023", or NO_YEAR
    source: str
    note: str = ""
    flag: str = ""  # why the build flagged this published value (the value is still shown)

    @property
    def shown(self) -> str:
        """The value as printed: its text, marked (:data:`FLAG_MARK`) when flagged."""
        return marked(self.text, bool(self.flag) and self.value is not None)

    @property
    def provenance(self) -> str:
        """Year and source in words (``"2013, Insee, RP 2013"``), then the caveat."""
        text = f"{self.year}, {self.source}"
        return f"{text} ({self.note})" if self.note else text


def marked(text: str, flagged: bool) -> str:
    """``text`` followed by :data:`FLAG_MARK` when ``flagged``: how every surface prints a
    value the build flagged."""
    return f"{text} {FLAG_MARK}" if flagged else text


@dataclass(frozen=True)
class Flag:
    """A value of a quartier missing, not computed or flagged by the build, and why (French)."""

    key: str  # the metric's key
    text: str  # « Taux de pauvreté : valeur manquante »
    reason: str = ""  # the build's reason alone (« valeur manquante »), when it flagged it
    published: float | None = None  # the value as published, when the build flagged one


@dataclass(frozen=True)
class Epci:
    """An EPCI a quartier is attributed to: its SIREN and its name in the EPCI table (None when
    the table, of :data:`geo.sources.COG_YEAR`, does not hold that SIREN)."""

    siren: str
    name: str | None


@dataclass(frozen=True)
class Quartier:
    """Everything said about one quartier (see :meth:`Quartiers.get`)."""

    code: str
    name: str
    generation: int
    status: str  # geo.territory.STATUS_CONTRACT or STATUS_NEIGHBOURING
    shared: bool  # also attributed to another EPCI
    status_label: str
    neighbour_reason: str | None  # why a neighbouring quartier is not in the contract
    contract_siren: str  # the EPCI whose contrat de ville it belongs to
    contract_name: str
    other_epcis: tuple[Epci, ...]  # the other EPCI(s) of a shared quartier
    commune_codes: tuple[str, ...]
    commune_names: tuple[str, ...]
    commune_epcis: tuple[str, ...]  # each commune's EPCI in the EPCI table ("" when none)
    outside_territory: tuple[str, ...]  # its communes outside the territory (INSEE codes)
    population_source: str  # the population's source, in full
    facts: Mapping[str, Fact]  # by metric key: the headline figures and the indicators
    communes_population: float | None  # population municipale of its communes, together
    reference_year: int  # the year of that population
    flags: tuple[Flag, ...]
    counterpart: str | None  # the same quartier in the other generation

    @property
    def indicators(self) -> tuple[Fact, ...]:
        """The published indicators, in catalogue order (none for the previous perimeters)."""
        return tuple(self.facts[key] for key in INDICATOR_KEYS if key in self.facts)

    @property
    def headline(self) -> tuple[Fact, ...]:
        """The figures shown first: population, area, density, share, and two indicators."""
        keys = HEADLINE + (HEADLINE_INDICATORS if self.indicators else ())
        return tuple(self.facts[key] for key in keys)

    def flag(self, key: str) -> Flag | None:
        """The flag of one figure, or None."""
        return next((f for f in self.flags if f.key == key), None)

    @property
    def remarks(self) -> str:
        """Every flag's text, ``"; "``-separated (empty when none)."""
        return "; ".join(f.text for f in self.flags)


def status_notes(quartier: Quartier, *, escape: Callable[[str], str] = str) -> list[str]:
    """What a reader must know about a quartier's status (neighbour's or shared), in French.

    ``escape`` is applied to the text taken from the data (the page passes a Markdown escaper).
    """
    notes = []
    if quartier.status == STATUS_NEIGHBOURING:
        reason = f" {escape(quartier.neighbour_reason)}" if quartier.neighbour_reason else ""
        notes.append(f"Quartier voisin, hors contrat de ville de ce territoire.{reason}")
    elif quartier.shared:
        others = [epci_words(quartier, epci) for epci in quartier.other_epcis]
        notes.append(
            f"Quartier partagé avec {escape(' ; '.join(others))} : une partie de ses habitants "
            "vit hors du territoire."
        )
    return notes


def epci_words(quartier: Quartier, epci: Epci) -> str:
    """An EPCI a quartier is shared with, in French: its name; for a SIREN the EPCI table does
    not hold, what the data says about it (the EPCI of its communes outside the territory)."""
    if epci.name:
        return epci.name
    outside = [
        (name, current)
        for code, name, current in zip(
            quartier.commune_codes, quartier.commune_names, quartier.commune_epcis, strict=True
        )
        if code in quartier.outside_territory
    ]
    text = (
        f"un EPCI qui ne figure pas dans la liste des EPCI de {COG_YEAR} (Insee, DGCL) : son "
        f"numéro SIREN {epci.siren} vient de l'attribution des quartiers {quartier.generation}"
    )
    currents = sorted({current for _, current in outside if current})
    if outside and currents:
        names = ", ".join(name for name, _ in outside)
        text += f" ; en {COG_YEAR}, ses communes hors du territoire ({names}) relèvent de " + (
            " et de ".join(currents)
        )
    return text


def status_label(status: str, shared: bool) -> str:
    """French label of a quartier's status, as shown in tooltips, panels and tables."""
    if status == STATUS_NEIGHBOURING:
        return STATUS_LABELS[STATUS_NEIGHBOURING]
    return STATUS_LABELS["partage" if shared else "contrat"]


def neighbour_reason(data: Dataset, code: str) -> str | None:
    """Why a neighbouring quartier is not in the territory's contract, or None.

    The reasons are declared on 2015 codes (``data/territories.json``); a 2024 quartier takes
    the reason of its predecessor.
    """
    reasons = data.report.territory.neighbouring
    if code in reasons:
        return reasons[code]
    predecessor = generations.counterpart(data, code)
    return reasons.get(predecessor) if predecessor else None


def population_source(data: Dataset, generation: int) -> str:
    """Where the population of a generation's quartiers comes from, in a few words."""
    if generation == generations.PREVIOUS:
        return f"Insee, RP {generations.year_text(generations.population_year(data, generation))}"
    return SHORT_SOURCES["indicateurs2024"]


# ---------------------------------------------------------------------------------------------
# Every quartier of a generation


def quartier_table(data: Dataset, generation: int) -> pd.DataFrame:
    """Every quartier of ``generation`` (neighbouring ones included), columns :data:`COLUMNS`.

    Implausible values (flagged by the build) are set to NA; each row's ``flags`` says which
    values are missing or were set aside, and why.
    """
    table, flags = quartier_values(data, generation)
    table["flags"] = ["; ".join(f.text for f in flags.get(code, [])) for code in table["code"]]
    return table[COLUMNS]


def quartier_values(data: Dataset, generation: int) -> tuple[pd.DataFrame, dict[str, list[Flag]]]:
    """Quartier rows without ``flags``, and the flags of each quartier by code."""
    generations.check(generation)
    qpv = data.qpv_of(generation).sort_values("code")
    _, column = latest_population_column(data.communes)
    pmun = {
        code: float(value)
        for code, value in zip(data.communes["code"], data.communes[column], strict=True)
        if pd.notna(value)
    }
    df = pd.DataFrame(
        {
            "kind": KIND,
            "code": qpv["code"].to_numpy(),
            "name": qpv["name"].to_numpy(),
            "communes": qpv["commune_names"].to_numpy(),
            "generation": generation,
            "population_year": pd.array(qpv["population_year"], dtype="Int64"),
            "population": qpv["population"].astype("Float64").astype(float).to_numpy(),
            "area_ha": qpv["area_ha"].to_numpy(dtype=float),
            "density": qpv["density"].to_numpy(dtype=float),
        }
    )
    with_indicators = generations.has_indicators(generation)
    for key in INDICATOR_KEYS:
        df[key] = qpv[key].to_numpy(dtype=float) if with_indicators else np.nan
    flags: dict[str, list[Flag]] = {}
    share = METRIC_BY_KEY["share_of_commune_pct"]
    shares = []
    for code, population, codes in zip(
        df["code"], df["population"], qpv["commune_codes"], strict=True
    ):
        members = codes.split(",")
        if any(c not in pmun for c in members):
            shares.append(np.nan)
            text = (
                f"{share.label} : non calculée, une partie du quartier est dans une commune hors "
                "du territoire"
            )
            flags.setdefault(code, []).append(Flag(share.key, text))
        else:
            shares.append(population / sum(pmun[c] for c in members) * 100)
    df["share_of_commune_pct"] = np.asarray(shares, dtype=float)
    df["simplified"] = generations.contours_simplified(data, generation)
    _apply_build_flags(df, data.flags, generation, flags)
    df["flagged"] = [
        ",".join(f.key for f in flags.get(code, []) if f.published is not None)
        for code in df["code"]
    ]
    return df, flags


def _apply_build_flags(
    df: pd.DataFrame, build_flags: pd.DataFrame, generation: int, flags: dict[str, list[Flag]]
) -> None:
    """Explain every value the build flagged: missing, or published and doubtful (kept as
    published, never blanked: the reader sees it with its reason)."""
    position = {code: i for i, code in enumerate(df["code"])}
    shown = {m.key: m for m in metrics_for(generation)}
    rows = build_flags[build_flags["generation"] == generation].sort_values(["code", "column"])
    for row in rows.itertuples():
        metric = shown.get(row.column)
        if row.code not in position or metric is None:
            continue
        if pd.isna(row.value):
            flag = Flag(metric.key, f"{metric.label} : {row.reason}", row.reason)
        else:
            # Two decimals: the published value exactly as the source gives it.
            published = f"{fr_number(row.value, 2)}{SEP}{metric.unit}".rstrip()
            text = f"{metric.label} : valeur publiée {published}, {row.reason}"
            flag = Flag(metric.key, text, row.reason, float(row.value))
        flags.setdefault(row.code, []).append(flag)


# ---------------------------------------------------------------------------------------------
# One quartier


class Quartiers:
    """The quartiers of one dataset, each generation's table computed once."""

    def __init__(self, data: Dataset):
        self.data = data
        self.reference_year, self._reference_column = latest_population_column(data.communes)
        self._tables: dict[int, tuple[pd.DataFrame, dict[str, list[Flag]]]] = {}
        self._indexed: dict[int, pd.DataFrame] = {}
        self._rows = pd.DataFrame(data.qpv.drop(columns=data.qpv.geometry.name)).set_index("code")
        self._pmun = data.communes.set_index("code")[self._reference_column]

    def table(self, generation: int) -> pd.DataFrame:
        """:func:`quartier_table` of ``generation``, indexed by code (computed once)."""
        if generation not in self._indexed:
            values, flags = self._values(generation)
            table = values.copy()
            table["flags"] = ["; ".join(f.text for f in flags.get(c, [])) for c in table["code"]]
            self._indexed[generation] = table[COLUMNS].set_index("code", drop=False)
        return self._indexed[generation]

    def _values(self, generation: int) -> tuple[pd.DataFrame, dict[str, list[Flag]]]:
        if generation not in self._tables:
            self._tables[generation] = quartier_values(self.data, generation)
        return self._tables[generation]

    def generation_of(self, code: str) -> int:
        """The generation of a quartier code; InputError for an unknown one."""
        if code not in self._rows.index:
            raise InputError(f"code de quartier inconnu : {code!r}")
        return int(self._rows.loc[code, "generation"])

    def get(self, code: str) -> Quartier:
        """The quartier ``code`` (of either generation).

        Raises
        ------
        InputError
            For an unknown code.
        """
        generation = self.generation_of(code)
        row = self._rows.loc[code]
        _, flags = self._values(generation)
        figures = self.table(generation).loc[code]
        codes = tuple(str(row["commune_codes"]).split(","))
        outside = tuple(c for c in codes if c not in self._pmun.index)
        keys = [m.key for m in metrics_for(generation)]
        year = generations.year_text(row["population_year"])
        simplified = generations.contours_simplified(self.data, generation)
        reference = None if outside else float(self._pmun.loc[list(codes)].sum())
        flagged = {f.key: f.reason for f in flags.get(code, []) if f.published is not None}
        facts = {
            key: self._fact(key, figures[key], generation, year, simplified, flagged.get(key, ""))
            for key in keys
        }
        return Quartier(
            code=code,
            name=str(row["name"]),
            generation=generation,
            status=str(row["status"]),
            shared=bool(row["shared"]),
            status_label=status_label(str(row["status"]), bool(row["shared"])),
            neighbour_reason=(
                neighbour_reason(self.data, code) if row["status"] == STATUS_NEIGHBOURING else None
            ),
            contract_siren=str(row["contract_siren"]),
            contract_name=str(row["contract_name"]),
            other_epcis=tuple(
                Epci(siren, name or None)
                for siren, name in zip(
                    str(row["epci_sirens"]).split(","),
                    str(row["epci_names"]).split(NAME_SEP),
                    strict=True,
                )
                if siren and siren != self.data.siren
            ),
            commune_codes=codes,
            commune_names=tuple(str(row["commune_names"]).split(", ")),
            commune_epcis=tuple(str(row["commune_epci_names"]).split(NAME_SEP)),
            outside_territory=outside,
            population_source=str(row["population_source"]),
            facts=facts,
            communes_population=reference,
            reference_year=self.reference_year,
            flags=tuple(flags.get(code, [])),
            counterpart=generations.counterpart(self.data, code),
        )

    def facts(self, code: str, keys: tuple[str, ...] | None = None) -> tuple[Fact, ...]:
        """The figures of a quartier in the order of ``keys`` (default: its headline)."""
        quartier = self.get(code)
        if keys is None:
            return quartier.headline
        missing = [k for k in keys if k not in quartier.facts]
        if missing:
            raise InputError(f"indicateur(s) non publié(s) pour ce quartier : {missing}")
        return tuple(quartier.facts[k] for k in keys)

    def _fact(
        self, key: str, value, generation: int, year: str, simplified: bool, flag: str
    ) -> Fact:
        metric = METRIC_BY_KEY[key]
        shapes = False  # computed from the perimeters' shapes
        if key == "population":
            source = population_source(self.data, generation)
        elif key == "area_ha":
            year, source = str(generation), f"{SHORT_SOURCES['qpv']}, périmètres {generation}"
            shapes = True
        elif key == "density":
            source = "population / surface"
            shapes = True
        elif key == "share_of_commune_pct":
            year = f"{year} et {self.reference_year}"
            source = f"population de la (des) commune(s) : {SHORT_SOURCES['communes']}"
        else:  # a published indicator
            year, source = NO_YEAR, SHORT_SOURCES["indicateurs2024"]
        approximate = shapes and simplified
        return Fact(
            key=key,
            label=metric.label,
            value=None if pd.isna(value) else float(value),
            text=metric.format(value, simplified=approximate),
            year=year,
            source=source,
            note=generations.SIMPLIFIED_NOTE if approximate else "",
            flag=flag,
        )
