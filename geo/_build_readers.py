"""Readers of the build: one per source file, each checking the columns it needs and reading
the values as the file gives them (no repair, no rounding beyond the source's own).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo._build_geometry import ensure_lambert93
from geo._build_indicators import INDICATORS
from geo.coordinates import LAMBERT93
from geo.errors import SchemaError
from geo.store import BuildReport

_CENSUS_COLUMN = re.compile(r"^population_municipale_(\d{4})$")


def read_qpv2015(shp: Path) -> gpd.GeoDataFrame:
    """Read the 2015 perimeters (cp1252 DBF, Lambert-93)."""
    gdf = gpd.read_file(shp, encoding="cp1252")
    require_columns(gdf, {"CODE_QP", "NOM_QP", "COMMUNE_QP"}, shp.name)
    gdf = ensure_lambert93(gdf, shp.name)
    return gdf.rename(columns={"CODE_QP": "code", "NOM_QP": "name", "COMMUNE_QP": "communes_raw"})


def read_pop2013(path: Path) -> pd.DataFrame:
    """Read INSEE's census population per 2015 QPV, with the EPCI attribution.

    The census year is read from the population column's name (``population_municipale_2013``)
    into ``population_year``: it is the file's, never typed here.
    """
    df = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8")
    require_columns(df, {"qp", "epci1", "epci2"}, path.name)
    found = [(c, m.group(1)) for c in df.columns if (m := _CENSUS_COLUMN.match(c))]
    if len(found) != 1:
        raise SchemaError(
            f"{path.name}: une colonne population_municipale_<année> attendue "
            f"(colonnes lues : {list(df.columns)})"
        )
    column, year = found[0]
    df["population"] = pd.to_numeric(df[column]).astype("Int64")
    df["population_year"] = int(year)
    return df


def read_qpv2024(path: Path) -> gpd.GeoDataFrame:
    """Read the 2024 perimeters (GeoJSON WGS84 copy, or the official Lambert-93 GeoPackage)."""
    gdf = gpd.read_file(path)
    gdf.columns = [c if c == "geometry" else c.lower() for c in gdf.columns]
    require_columns(gdf, {"code_qp", "lib_qp", "insee_com", "lib_com", "siren_epci"}, path.name)
    if gdf.crs is None:
        raise SchemaError(f"{path.name}: pas de système de coordonnées déclaré")
    return gdf.to_crs(LAMBERT93).rename(columns={"code_qp": "code", "lib_qp": "name"})


def read_indicators(path: Path, report: BuildReport) -> pd.DataFrame:
    """Read the per-QPV indicator compilation, one row per QPV (it repeats rows per commune)."""
    df = pd.read_csv(path, dtype=str)
    require_columns(df, {"codeQPV", "popMuniQPV", *INDICATORS}, path.name)
    cols = ["popMuniQPV", *INDICATORS]
    values = df[["codeQPV", *cols]].copy()
    for c in cols:
        values[c] = pd.to_numeric(values[c], errors="coerce")
    per_qpv = values.groupby("codeQPV", sort=True)
    inconsistent = per_qpv.nunique(dropna=False).gt(1).any(axis=1)
    for code in inconsistent[inconsistent].index:
        report.notes.append(f"{code} : valeurs différentes d'une commune à l'autre (1re gardée)")
    out = per_qpv.first().rename(columns={"popMuniQPV": "population", **INDICATORS})
    out["population"] = out["population"].round().astype("Int64")
    return out


def read_communes_json(path: Path, what: str) -> list[dict]:
    """The list of objects of ``communes.json`` or ``epci.json``, each with a ``code``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not data or "code" not in data[0]:
        raise SchemaError(f"{what}: liste d'objets avec un champ 'code' attendue")
    return data


def read_poplegales(path: Path) -> pd.Series:
    """Population municipale 2023 by INSEE code."""
    df = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8")
    require_columns(df, {"COM", "PMUN"}, path.name)
    return pd.to_numeric(df.set_index("COM")["PMUN"]).astype("Int64")


def read_populations_call(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"code_insee": str})
    require_columns(df, {"code_insee", "pmun_2021", "pmun_2022", "pmun_2023"}, path.name)
    return df.set_index("code_insee")


def require_columns(df: pd.DataFrame, columns: set[str], what: str) -> None:
    """Raise :class:`SchemaError` naming the columns of ``columns`` that ``df`` lacks."""
    missing = sorted(columns - set(df.columns))
    if missing:
        raise SchemaError(
            f"{what}: colonnes manquantes {missing} (colonnes lues : {list(df.columns)})"
        )
