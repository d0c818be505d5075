"""The quartiers' table of the build: each generation's perimeters attributed to the
territory, joined to their populations and indicators, then their status (contract or
neighbouring), the EPCI whose contrat de ville they belong to, and their EPCIs named.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import generations
from geo._build_geometry import repair_geometries, to_multipolygon
from geo._build_indicators import INDICATORS
from geo.coordinates import LAMBERT93
from geo.errors import SchemaError
from geo.store import NAME_SEP, BuildReport
from geo.territory import (
    STATUS_CONTRACT,
    STATUS_NEIGHBOURING,
    CommuneNameResolver,
    Territory,
    departement_of_qpv,
)


def build_qpv2015(
    raw: gpd.GeoDataFrame,
    pop: pd.DataFrame,
    territory: Territory,
    resolver: CommuneNameResolver,
    report: BuildReport,
) -> gpd.GeoDataFrame:
    """QPVs of 2015 attributed to the territory's EPCI by INSEE (principal or secondary)."""
    attributed = pop[(pop["epci1"] == territory.siren) | (pop["epci2"] == territory.siren)]
    gdf = raw[raw["code"].isin(attributed["qp"])].copy()
    missing = sorted(set(attributed["qp"]) - set(gdf["code"]))
    if missing:
        raise SchemaError(f"QPV 2015 attribués à l'EPCI mais absents des périmètres : {missing}")
    gdf = gdf.merge(
        attributed[["qp", "epci1", "epci2", "population", "population_year"]],
        left_on="code",
        right_on="qp",
    )
    gdf = repair_geometries(gdf, report, generations.PREVIOUS)
    codes, names = [], []
    for code, raw_names in zip(gdf["code"], gdf["communes_raw"], strict=True):
        pairs = resolver.resolve_list(
            raw_names, departement=departement_of_qpv(code), context=f"QPV {code}"
        )
        codes.append(",".join(p[0] for p in pairs))
        names.append(", ".join(p[1] for p in pairs))
    epcis = [
        ",".join(e for e in (a, b) if isinstance(e, str) and e)
        for a, b in zip(gdf["epci1"], gdf["epci2"], strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "code": gdf["code"],
            "name": gdf["name"].str.strip(),
            "generation": generations.PREVIOUS,
            "epci_sirens": epcis,
            "commune_codes": codes,
            "commune_names": names,
            "population": gdf["population"].astype("Int64"),
            "population_year": gdf["population_year"].astype("Int64"),
            "population_source": [
                f"Insee, population municipale des QPV {generations.PREVIOUS} (RP {year})"
                for year in gdf["population_year"]
            ],
        },
        geometry=gdf.geometry.map(to_multipolygon),
        crs=LAMBERT93,
    )


def build_qpv2024(
    raw: gpd.GeoDataFrame, indicators: pd.DataFrame, territory: Territory, report: BuildReport
) -> gpd.GeoDataFrame:
    """QPVs of 2024 whose ``siren_epci`` lists the territory's EPCI, joined to indicators."""
    sirens = raw["siren_epci"].fillna("").map(_split_list)
    gdf = raw[sirens.map(lambda s: territory.siren in s)].copy()
    gdf = repair_geometries(gdf, report, generations.IN_FORCE)
    codes = gdf["insee_com"].fillna("").map(_split_list)
    names = gdf["lib_com"].fillna("").map(_split_list)
    for code, c, n in zip(gdf["code"], codes, names, strict=True):
        if not c or len(c) != len(n):
            raise SchemaError(f"QPV {code}: communes incohérentes {c!r} / {n!r}")
    ind = indicators.reindex(gdf["code"])
    no_row = sorted(set(gdf["code"]) - set(indicators.index))
    for code in no_row:
        report.notes.append(f"{code} : absent du tableau d'indicateurs 2024")
    out = gpd.GeoDataFrame(
        {
            "code": gdf["code"].to_numpy(),
            "name": gdf["name"].str.strip().to_numpy(),
            "generation": generations.IN_FORCE,
            "epci_sirens": sirens[gdf.index].map(",".join).to_numpy(),
            "commune_codes": codes.map(",".join).to_numpy(),
            "commune_names": names.map(", ".join).to_numpy(),
            "population": ind["population"].to_numpy(),
            # The compilation gives no year for its populations.
            "population_year": pd.array([pd.NA] * len(gdf), "Int64"),
            "population_source": "Compilation SIG Ville / Insee (analyse_qpv), "
            + generations.NO_YEAR,
        },
        geometry=gdf.geometry.map(to_multipolygon).to_numpy(),
        crs=LAMBERT93,
    )
    for col in INDICATORS.values():
        out[col] = ind[col].to_numpy(dtype=float)
    return out


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in str(value).replace(";", ",").split(",") if v.strip()]


def assign_status(
    qpv: gpd.GeoDataFrame, territory: Territory, report: BuildReport
) -> gpd.GeoDataFrame:
    """Mark each QPV as in the contract or neighbouring, and shared with another EPCI or not."""
    qpv = qpv.copy()
    neighbouring = set(territory.neighbouring)
    previous = qpv["generation"] == generations.PREVIOUS
    unknown = sorted(neighbouring - set(qpv.loc[previous, "code"]))
    if unknown:
        raise SchemaError(f"QPV voisins déclarés pour {territory.siren} mais inconnus : {unknown}")
    # A neighbouring 2015 QPV's 2024 successor is neighbouring too.
    successors = set(qpv.loc[qpv["code"].isin(neighbouring), "successor"].dropna())
    neighbouring_all = neighbouring | successors
    qpv["status"] = np.where(
        qpv["code"].isin(neighbouring_all), STATUS_NEIGHBOURING, STATUS_CONTRACT
    )
    qpv["shared"] = qpv["epci_sirens"].map(lambda s: set(s.split(",")) != {territory.siren})
    for code in sorted(successors):
        report.notes.append(f"{code} : successeur 2024 d'un QPV voisin, marqué voisin lui aussi")
    return qpv


def assign_contract(qpv: gpd.GeoDataFrame, territory: Territory, epci: list[dict]) -> pd.DataFrame:
    """Which EPCI's contrat de ville each QPV belongs to: ``contract_siren``, ``contract_name``.

    The territory's own for the QPVs of its contract; for a neighbouring one, the first EPCI the
    data attributes it to other than the territory (INSEE's principal EPCI, ``epci1``, comes
    first), named as in the EPCI file.
    """
    names = {str(e.get("code")): str(e.get("nom") or "") for e in epci}
    sirens, labels = [], []
    for code, status, attributed in zip(
        qpv["code"], qpv["status"], qpv["epci_sirens"], strict=True
    ):
        if status != STATUS_NEIGHBOURING:
            sirens.append(territory.siren)
            labels.append(territory.name)
            continue
        others = [s for s in str(attributed).split(",") if s and s != territory.siren]
        if not others or not names.get(others[0]):
            raise SchemaError(
                f"QPV voisin {code} : EPCI de son contrat de ville introuvable ({attributed!r})"
            )
        sirens.append(others[0])
        labels.append(names[others[0]])
    qpv = qpv.copy()
    qpv["contract_siren"] = sirens
    qpv["contract_name"] = labels
    return qpv


def name_epcis(qpv: gpd.GeoDataFrame, epci: list[dict]) -> gpd.GeoDataFrame:
    """Name each quartier's EPCIs and the EPCI of each of its communes, from the EPCI table.

    ``epci_names``: the names of ``epci_sirens``, in the same order, empty for a SIREN the EPCI
    table does not hold (an EPCI of the 2015 attribution that the current table no longer
    lists). ``commune_epci_names``: for each of ``commune_codes``, the name of the EPCI the
    table counts it in, empty when none. Both are :data:`NAME_SEP`-separated.
    """
    names = {str(e.get("code")): str(e.get("nom") or "") for e in epci}
    of_commune = {
        str(m.get("code")): names[str(e.get("code"))]
        for e in epci
        for m in e.get("membres") or []
        if isinstance(m, dict)
    }
    qpv = qpv.copy()
    qpv["epci_names"] = [
        NAME_SEP.join(names.get(s, "") for s in sirens.split(",")) for sirens in qpv["epci_sirens"]
    ]
    qpv["commune_epci_names"] = [
        NAME_SEP.join(of_commune.get(c, "") for c in codes.split(","))
        for codes in qpv["commune_codes"]
    ]
    return qpv
