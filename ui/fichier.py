"""Widgets of the « Vérifier un fichier » page (the address page has its own: ``ui/adresse.py``).

:func:`points_layer` (the checked rows coloured by status), :func:`status_legend_html`,
:func:`counts_table`, :func:`preview`.

Addresses are personal data: nothing here logs them, caches them or writes them anywhere. Every
text from a user or from the data is escaped for HTML (:func:`html.escape`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo import generations
from geo.checkfile import GEOCODING_COLUMNS
from geo.format import MISSING, fr_int, fr_number
from geo.tabular import LINE
from geo.verdict import NOT_LOCATED, STATUS_ORDER
from ui import leaflet

BULK_TIMEOUT = (5.0, 60.0)  # per chunk of 2 000 addresses on the file page


# ---------------------------------------------------------------------------------------------
# File page


@dataclass(frozen=True)
class PointStyle:
    """How the file map draws a status (Okabe-Ito colours, dark outline: visible on any fill)."""

    label: str
    fill: str
    radius: float


POINT_STYLES = {
    "dans": PointStyle("dans un quartier prioritaire", "#0072B2", 6),
    "incertain": PointStyle("incertain (près d'une limite, ou adresse imprécise)", "#F0E442", 6),
    "hors": PointStyle("hors quartier prioritaire", "#FFFFFF", 4.5),
    "hors territoire": PointStyle("hors du territoire couvert", "#CC79A7", 4.5),
}
POINT_OUTLINE = "#161616"


def points_layer(rows: pd.DataFrame, generation: int) -> leaflet.Layer | None:
    """The located rows as circles coloured by their status for ``generation``.

    Tooltips give the row number, the status and the quartier (escaped). None when no row has
    a point. The layer stays out of the layer control; its ``bounds`` frame the points.
    """
    located = rows[rows["lon"].notna() & rows["lat"].notna()]
    if located.empty:
        return None
    status = located[f"qpv_{generation}_statut"].to_numpy(dtype=object)
    codes = located[f"qpv_{generation}_code"].to_numpy(dtype=object)
    names = located[f"qpv_{generation}_nom"].to_numpy(dtype=object)
    lon = located["lon"].to_numpy(dtype=float)
    lat = located["lat"].to_numpy(dtype=float)
    line_numbers = _line_numbers(rows)[rows.index.get_indexer(located.index)]
    features = []
    for i, label in enumerate(status):
        style = POINT_STYLES[label]
        tooltip = f"Ligne {fr_int(line_numbers[i])} : {html.escape(label)}"
        if isinstance(codes[i], str):
            tooltip += f"<br>{html.escape(str(names[i]))} ({html.escape(codes[i])})"
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "tooltip": tooltip,
                    "style": {
                        "radius": style.radius,
                        "color": POINT_OUTLINE,
                        "weight": 1,
                        "fillColor": style.fill,
                        "fillOpacity": 0.95,
                    },
                },
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(lon[i]), 6), round(float(lat[i]), 6)],
                },
            }
        )
    data = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    bounds = ((float(lat.min()), float(lon.min())), (float(lat.max()), float(lon.max())))
    return leaflet.Layer(id="points", geojson=data, pane="points", bounds=bounds)


def _line_numbers(rows: pd.DataFrame) -> np.ndarray:
    """Line of each row in the user's file: the index ``geo.tabular`` gives a table it read
    (blank lines counted); for a table built otherwise, its position after a header line."""
    if rows.index.name == LINE:
        return rows.index.to_numpy()
    return np.arange(len(rows)) + 2


def status_legend_html() -> str:
    """The file map's legend: one swatch per status (static text, nothing from the user)."""
    items = []
    for style in POINT_STYLES.values():
        items.append(
            '<span style="display:inline-flex;align-items:center;gap:6px;margin-right:16px">'
            f'<span style="display:inline-block;width:12px;height:12px;border-radius:50%;'
            f'background:{style.fill};border:1px solid {POINT_OUTLINE}"></span>'
            f"{html.escape(style.label)}</span>"
        )
    return (
        '<div style="font-size:0.875rem;color:#161616;line-height:1.8">' + "".join(items) + "</div>"
    )


def counts_table(counts: Mapping[int, Mapping[str, int]]) -> pd.DataFrame:
    """Rows per status (lines) and generation (columns), counts formatted in French."""
    table = pd.DataFrame(
        {
            f"Périmètres {g}": [fr_int(counts[g][s]) for s in STATUS_ORDER]
            for g in generations.ORDER
            if g in counts
        },
        index=pd.Index(STATUS_ORDER, name="Statut"),
    )
    return table.reset_index()


PREVIEW_ROWS = 200
PREVIEW_LINE = "ligne du fichier"


def preview(rows: pd.DataFrame, *, geocoded: bool) -> pd.DataFrame:
    """The first rows as text: numbers in French format, missing values as "—".

    The first column is each row's line in the user's file (as in the map's tooltips). Without
    geocoding, the empty ``geocodage_*`` columns are left out (they stay in the files).
    """
    head = rows.head(PREVIEW_ROWS)
    lines = _line_numbers(rows)[: len(head)]
    if not geocoded:
        head = head.drop(columns=[c for c in GEOCODING_COLUMNS[2:] if c in head.columns])
    decimals = {
        "lon": 6,
        "lat": 6,
        "geocodage_score": 2,
        **{f"qpv_{g}_distance_m": 1 for g in generations.ORDER},
    }
    shown = {} if PREVIEW_LINE in head.columns else {PREVIEW_LINE: [fr_int(n) for n in lines]}
    for column in head.columns:
        values = head[column]
        if column in decimals:
            shown[column] = [fr_number(v, decimals[column]) for v in values]
        else:
            shown[column] = [MISSING if pd.isna(v) else str(v) for v in values]
    return pd.DataFrame(shown)


def not_located_count(counts: Mapping[int, Mapping[str, int]]) -> int:
    """Rows without a usable point (the same for every generation)."""
    return max((c.get(NOT_LOCATED, 0) for c in counts.values()), default=0)


def count_fr(n: int, singular: str, plural: str) -> str:
    """``count_fr(1, "ligne", "lignes")`` -> ``"1 ligne"``; 0 and 2+ take the plural."""
    return f"{fr_int(n)} {singular if n == 1 else plural}"
