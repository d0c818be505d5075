"""What the map of ``/adresse`` adds around a point looked up: the quartiers concerned, the
300 m / 500 m circles and the point itself, as layers of the app's map component
(:mod:`ui.leaflet`). The territory's quartiers underneath come from :mod:`ui.mapview`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from geo import generations, style
from geo.answer import LocatedPoint
from geo.store import Dataset
from geo.verdict import BAND_FAR_M, BAND_NEAR_M, Verdict
from ui import leaflet, mapview

POINT_ZOOM = 15  # the 500 m circle fits the map whole
POINT_FILL = "#000091"  # the point looked up: « bleu France », the app's primary colour


def concerned_code(verdict: Verdict | None) -> str | None:
    """The quartier a verdict is about: the one containing the point, else the nearest."""
    if verdict is None:
        return None
    if verdict.qpv:
        return verdict.qpv[0].code
    return verdict.nearest.code if verdict.nearest else None


def point_layers(
    dataset: Dataset, point: LocatedPoint, verdicts: Mapping[int, Verdict]
) -> tuple[leaflet.Layer, ...]:
    """What the address map adds: the quartiers concerned, the 300/500 m circles, the point.

    The quartier in force is outlined in black, its previous-generation counterpart dashed in
    blue (:func:`ui.mapview.focus_layer`). Nothing here catches clicks: a click anywhere on the
    map still places a new point.
    """
    in_force = concerned_code(verdicts.get(generations.IN_FORCE))
    previous = concerned_code(verdicts.get(generations.PREVIOUS))
    focus = None
    if in_force:
        focus = mapview.focus_layer(dataset, in_force, counterpart=previous)
    elif previous:
        focus = mapview.focus_layer(dataset, previous)
    where = {"type": "Point", "coordinates": [round(point.lon, 6), round(point.lat, 6)]}
    ring = {"color": style.TEXT, "weight": 1.5, "fill": False}
    marker = {"radius": 8, "color": style.PAPER, "weight": 3, "fill": True,
              "fillColor": POINT_FILL, "fillOpacity": 1}  # fmt: skip
    shapes = [
        {"radius_m": BAND_NEAR_M, "style": {**ring, "dashArray": "6 4"}},
        {"radius_m": BAND_FAR_M, "style": {**ring, "dashArray": "2 6"}},
        {"style": marker},
    ]
    features = [{"type": "Feature", "properties": p, "geometry": where} for p in shapes]
    around = leaflet.Layer(
        id="points",
        geojson=json.dumps({"type": "FeatureCollection", "features": features}),
        pane="points",
        tooltips=False,
        interactive=False,
    )
    return tuple(layer for layer in (focus, around) if layer is not None)
