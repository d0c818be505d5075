"""The 2024 indicators as the build reads them: the source's columns and their processed
names, which rates are ratios of two counts (checked on every build), and the values flagged as
missing or implausible (kept as published, their French reason beside them).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geo import generations
from geo.format import fr_number, fr_percent
from geo.store import BuildReport

# analyse_qpv.csv column -> processed column
INDICATORS = {
    "indiceJeunesse": "indice_jeunesse",
    "partPopEt": "part_pop_etrangere",
    "partPopImmi": "part_pop_immigree",
    "partMen1p": "part_men_1p",
    "partMen2p": "part_men_2p",
    "partMen3p": "part_men_3p",
    "partMen45p": "part_men_45p",
    "partMen6pp": "part_men_6pp",
    "nombre_menages": "nombre_menages",
    "nombre_logements_sociaux": "nombre_logements_sociaux",
    "taux_logements_sociaux": "taux_logements_sociaux",
    "taux_d_emploi": "taux_emploi",
    "taux_pauvrete_60%": "taux_pauvrete",
    "personnes_couvertes_CAF": "personnes_couvertes_caf",
    "allocataires_CAF": "allocataires_caf",
    "RSA_socle": "rsa_socle",
}
# Rates the compilation recomputed as a count over another count (x 100), not a share of a
# whole: they can exceed 100 %. « taux_logements_sociaux » is social dwellings over households
# (checked by the build on every quartier, see check_ratios).
RATIOS = {"taux_logements_sociaux": ("nombre_logements_sociaux", "nombre_menages")}
PERCENT_INDICATORS = tuple(
    c for c in INDICATORS.values() if c.startswith(("part_", "taux_")) and c not in RATIOS
)
_WORDS = {"nombre_logements_sociaux": "logements sociaux", "nombre_menages": "ménages"}
RATIO_TOLERANCE = 0.01  # percentage points: the source rounds its rates to two decimals


def flag_values(qpv: gpd.GeoDataFrame) -> pd.DataFrame:
    """Missing and implausible values, one row each (French reasons for users).

    A ratio over 100 % (:data:`RATIOS`) is not implausible in itself: it is flagged with the two
    counts it is computed from, so that a reader sees why.
    """
    rows: list[tuple[str, int, str, float | None, str]] = []
    for row in qpv.itertuples():
        if pd.isna(row.population):
            rows.append((row.code, row.generation, "population", None, "valeur manquante"))
        if not generations.has_indicators(row.generation):
            continue
        for col in INDICATORS.values():
            value = getattr(row, col)
            if pd.isna(value):
                rows.append((row.code, row.generation, col, None, "valeur manquante"))
            elif col in RATIOS and value > 100:
                count, base = (getattr(row, c) for c in RATIOS[col])
                reason = (
                    f"plus de {fr_percent(100, 0)} : la source compte {fr_number(count)} "
                    f"{_WORDS[RATIOS[col][0]]} pour {fr_number(base, 1)} {_WORDS[RATIOS[col][1]]}"
                )
                rows.append((row.code, row.generation, col, float(value), reason))
            elif col in PERCENT_INDICATORS and value > 100:
                reason = f"supérieure à {fr_percent(100, 0)} : implausible"
                rows.append((row.code, row.generation, col, float(value), reason))
            elif value < 0:
                rows.append((row.code, row.generation, col, float(value), "négative : implausible"))
    return pd.DataFrame(rows, columns=["code", "generation", "column", "value", "reason"])


def check_ratios(indicators: pd.DataFrame, report: BuildReport) -> None:
    """Check that each rate of :data:`RATIOS` is its two counts' quotient, note any that is not.

    What the rate means is read from the data, not assumed: the page labels it accordingly.
    """
    for rate, (count, base) in RATIOS.items():
        if indicators.empty:
            continue
        computed = indicators[count] / indicators[base] * 100
        off = (computed - indicators[rate]).abs() > RATIO_TOLERANCE
        for code in indicators.index[off.fillna(False).to_numpy(dtype=bool)]:
            report.notes.append(
                f"{code} : {rate} ({fr_number(indicators.at[code, rate], 2)}) ne vaut pas "
                f"{count} / {base} ({fr_number(computed.at[code], 2)})"
            )
