"""Widgets of the two lookup pages ("Suis-je en QPV ?" and "Vérifier un fichier").

- Address page: :func:`search_address` (the BAN, biased towards the territory, short timeouts),
  :func:`candidate_label`, :func:`render_point` and :func:`render_verdicts` (the verdicts in
  plain French, 2024 first, each quartier linking to its fact panel on the map page),
  :func:`point_layer` (what the map adds around the point).
- File page: :func:`points_layer` (the checked rows coloured by status),
  :func:`status_legend_html`, :func:`counts_table`, :func:`preview`.

Addresses are personal data: nothing here logs them, caches them or writes them anywhere; the
pages keep the current one in ``st.session_state`` only. Every text from a user or from the data
is escaped for Markdown (:func:`ui.panels.escape_markdown`) or HTML (:func:`html.escape`).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote as quote_url

import folium
import numpy as np
import pandas as pd
import streamlit as st
from folium.utilities import JsCode

from geo.batch import (
    GENERATIONS,
    GEOCODING_COLUMNS,
    NOT_LOCATED,
    STATUS_ORDER,
    describe_verdict,
)
from geo.errors import InputError
from geo.format import MISSING, fr_int, fr_number
from geo.geocode import GeocodeAnswer, GeocodeResult, RetryPolicy, geocode_address
from geo.locate import BAND_FAR_M, BAND_NEAR_M, Verdict
from geo.store import Dataset
from geo.tabular import LINE
from ui import mapview
from ui.memory import keep_for_process
from ui.panels import GENERATION_LABELS, escape_markdown

SIG_VILLE_URL = "https://sig.ville.gouv.fr"
# An interactive search must answer fast or say so: the bulk defaults (30 s, 3 attempts, long
# Retry-After sleeps) suit a file, not a person waiting at the page.
SEARCH_TIMEOUT = (3.0, 8.0)
SEARCH_POLICY = RetryPolicy(attempts=2, backoff=0.5, max_wait=2.0)
BULK_TIMEOUT = (5.0, 60.0)  # per chunk of 2 000 addresses on the file page

SOURCE_ADDRESS = "adresse"
SOURCE_MAP = "carte"
SOURCE_COORDINATES = "coordonnées"

TYPE_PRECISION_FR = {
    "housenumber": "au numéro",
    "street": "à la rue seulement",
    "locality": "au lieu-dit seulement",
    "municipality": "à la commune seulement",
}
STATUS_ICONS = {
    "in": ":material/location_on:",
    "out": ":material/radio_button_unchecked:",
    "uncertain": ":material/help:",
    "outside_territory": ":material/explore_off:",
}
POINT_ZOOM = 15  # the 500 m circle fits the map whole


@dataclass(frozen=True)
class LocatedPoint:
    """The point a verdict is about, and where it came from (address, map click, coordinates)."""

    lon: float
    lat: float
    source: str
    label: str | None = None  # the BAN's label of the address
    result_type: str | None = None  # BAN type; None for a point given directly
    score: float | None = None
    in_territory: bool | None = None

    @classmethod
    def from_candidate(cls, candidate: GeocodeResult) -> LocatedPoint:
        """The point of a BAN candidate."""
        return cls(
            lon=candidate.lon,
            lat=candidate.lat,
            source=SOURCE_ADDRESS,
            label=candidate.label,
            result_type=candidate.type,
            score=candidate.score,
            in_territory=candidate.in_territory,
        )


# ---------------------------------------------------------------------------------------------
# Address page: input


@st.cache_resource(show_spinner=False)
def _territory_context(siren: str, *, _dataset: Dataset) -> tuple[frozenset[str], tuple]:
    """INSEE codes of the territory's communes and its centre (lon, lat), once per process."""
    centre = _dataset.territory.to_crs(4326).geometry.iloc[0].centroid
    return keep_for_process(
        (frozenset(_dataset.communes["code"].astype(str)), (centre.x, centre.y))
    )


def search_address(address: str, dataset: Dataset) -> GeocodeAnswer:
    """The BAN's candidates for an address typed by a user, flagged in or out of the territory.

    Never cached (an address is personal data) and never logged.

    Raises
    ------
    InputError
        Unusable address (French message).
    GeocoderError
        The service failed: show :func:`geo.geocode.user_message`.
    """
    citycodes, centre = _territory_context(dataset.siren, _dataset=dataset)
    return geocode_address(
        address,
        territory_citycodes=citycodes,
        near=centre,
        timeout=SEARCH_TIMEOUT,
        policy=SEARCH_POLICY,
    )


def candidate_label(candidate: GeocodeResult, territory_name: str) -> str:
    """A candidate as the radio shows it (Markdown-escaped): label, precision, territory."""
    parts = [escape_markdown(candidate.label)]
    precision = TYPE_PRECISION_FR.get(candidate.type)
    if precision and candidate.type != "housenumber":
        parts.append(f"localisée {precision}")
    if candidate.in_territory is False:
        parts.append(f"hors du territoire ({escape_markdown(territory_name)})")
    return " — ".join(parts)


def parse_coordinate(text: str, what: str) -> float:
    """A longitude or latitude typed by a user (decimal point or comma).

    Raises
    ------
    InputError
        Empty or not a number (French message naming ``what``).
    """
    cleaned = (text or "").strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
    if not cleaned:
        raise InputError(f"Saisissez la {what} (en degrés décimaux, par exemple 2,83 ou 50,43).")
    try:
        value = float(cleaned)
    except ValueError:
        raise InputError(
            f"La {what} doit être un nombre en degrés décimaux (par exemple 2,83 ou 50,43)."
        ) from None
    if not math.isfinite(value):
        raise InputError(f"La {what} doit être un nombre fini.")
    return value


# ---------------------------------------------------------------------------------------------
# Address page: the card


def quartier_link(generation: int, code: str, name: str) -> str:
    """Markdown link to a quartier's fact panel on the map page (``./?gen=G&qpv=CODE``)."""
    url = f"./?gen={generation}&qpv={quote_url(code, safe='')}"
    return f"[{escape_markdown(name)}]({url}) ({escape_markdown(code)})"


def point_sentence(point: LocatedPoint) -> str:
    """Where the point comes from, in Markdown (the address label escaped)."""
    where = f"latitude {fr_number(point.lat, 5)}, longitude {fr_number(point.lon, 5)}"
    if point.source == SOURCE_ADDRESS:
        precision = TYPE_PRECISION_FR.get(point.result_type or "", "")
        return (
            f"**Adresse trouvée :** {escape_markdown(point.label or '')}  \n"
            f"Localisée {precision} par la Base Adresse Nationale ({where})."
        )
    if point.source == SOURCE_MAP:
        return f"**Point choisi sur la carte :** {where}."
    return f"**Coordonnées saisies :** {where}."


def render_point(point: LocatedPoint, dataset: Dataset) -> None:
    """What the answer is about: the address found or the point given (warns when outside)."""
    st.markdown(point_sentence(point))
    if point.in_territory is False:
        st.warning(
            f"Cette adresse n'est pas dans une commune de {escape_markdown(dataset.territory_name)}"
            " : l'application ne connaît que les quartiers de ce territoire.",
            icon=":material/warning:",
        )


def render_verdicts(verdicts: Mapping[int, Verdict], dataset: Dataset) -> None:
    """Each generation's verdict in a box (2024 first), then the notice on official answers."""
    for generation in GENERATIONS:
        verdict = verdicts.get(generation)
        if verdict is None:
            continue
        with st.container(border=True):
            st.markdown(f"**{GENERATION_LABELS[generation]}**")
            headline, *details = describe_verdict(
                verdict, quartier=quartier_link, escape=escape_markdown
            )
            st.markdown(f"{STATUS_ICONS[verdict.status]} **{headline}**")
            if details:
                st.markdown("\n".join(f"- {line}" for line in details))
            # Not for an imprecise address (infinite tolerance): its reason is elsewhere.
            near_boundary = (
                verdict.status == "uncertain"
                and math.isfinite(verdict.tolerance_m)
                and verdict.distance_m <= verdict.tolerance_m
            )
            if generation == 2024 and near_boundary and _simplified_2024(dataset):
                st.caption(
                    "Les périmètres 2024 disponibles ici sont une copie simplifiée (écart "
                    f"jusqu'à environ {fr_int(dataset.tolerance_m(2024))} m) : près d'une "
                    "limite, seule la carte officielle peut trancher."
                )
    st.markdown(
        ":material/info: Réponse indicative, calculée d'après les périmètres publiés : elle ne "
        "remplace pas l'attestation officielle, à obtenir sur le "
        f"[SIG Ville]({SIG_VILLE_URL}) (sig.ville.gouv.fr)."
    )


def _simplified_2024(dataset: Dataset) -> bool:
    return dataset.report["sources"]["qpv2024"]["source"] == "qpv2024_simplified"


def concerned_code(verdict: Verdict | None) -> str | None:
    """The quartier a verdict is about: the one containing the point, else the nearest."""
    if verdict is None:
        return None
    if verdict.qpv:
        return verdict.qpv[0].code
    return verdict.nearest.code if verdict.nearest else None


def point_layer(
    dataset: Dataset, point: LocatedPoint, verdicts: Mapping[int, Verdict]
) -> folium.FeatureGroup:
    """What the address map adds: the quartiers concerned, the 300/500 m circles, the point.

    The 2024 quartier is outlined in black, the 2015 one dashed in blue
    (:func:`ui.mapview.focus_layer`). Nothing here catches clicks: a click anywhere on the map
    still places a new point.
    """
    code_2024 = concerned_code(verdicts.get(2024))
    code_2015 = concerned_code(verdicts.get(2015))
    if code_2024:
        group = mapview.focus_layer(dataset, code_2024, counterpart=code_2015)
    elif code_2015:
        group = mapview.focus_layer(dataset, code_2015)
    else:
        group = folium.FeatureGroup(name="Quartier choisi", control=False)
    location = [point.lat, point.lon]
    for radius, dash in ((BAND_NEAR_M, "6 4"), (BAND_FAR_M, "2 6")):
        folium.Circle(
            location,
            radius=radius,
            color="#161616",
            weight=1.5,
            dash_array=dash,
            fill=False,
            interactive=False,
        ).add_to(group)
    folium.CircleMarker(
        location,
        radius=8,
        color="#FFFFFF",
        weight=3,
        fill=True,
        fill_color="#000091",
        fill_opacity=1,
        interactive=False,
    ).add_to(group)
    return group


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
_POINT_TO_LAYER = JsCode(
    "function (feature, latlng) { return L.circleMarker(latlng, feature.properties.style); }"
)


def points_layer(rows: pd.DataFrame, generation: int) -> mapview.GeoJsonLayer | None:
    """The located rows as circles coloured by their status for ``generation``.

    Tooltips give the row number, the status and the quartier (escaped). None when no row has
    a point. The layer stays out of the layer control (it is added after the control).
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
    bounds = [[float(lat.min()), float(lon.min())], [float(lat.max()), float(lon.max())]]
    layer = mapview.GeoJsonLayer(
        data, bounds, name="Lignes du fichier", pointToLayer=_POINT_TO_LAYER
    )
    layer.control = False  # added after build_map's layer control: it cannot list it
    return layer


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
            for g in GENERATIONS
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
        **{f"qpv_{g}_distance_m": 1 for g in GENERATIONS},
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
