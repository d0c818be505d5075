"""Folium maps that render with no internet: vendored Leaflet and the French basemaps.

folium loads Leaflet, jQuery, Bootstrap and Leaflet.awesome-markers from CDNs. Inside
``st_folium`` those URLs are loaded one after the other by the component's frontend, and the
first one that fails stops the map from being drawn at all: offline, the map stays blank.
``make_map`` returns a ``folium.Map`` that loads only Leaflet, from ``static/vendor/`` served by
Streamlit at ``/app/static/`` (``server.enableStaticServing``).

The asset URLs are relative to the st_folium component's iframe, whose document lives at
``<server>[/<server.baseUrlPath>]/component/streamlit_folium.st_folium/index.html`` whatever page
of the app is shown: ``../../app/static/...`` therefore reaches the static folder from ``/``,
``/sources`` or behind a base URL path alike. They are not meant for ``Map.save()``.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import folium
import xyzservices
from branca.colormap import ColorMap

LEAFLET_VERSION = "1.9.3"
"""The Leaflet release folium 0.20 was written against, vendored in ``static/vendor/``."""

ASSET_BASE_URL = f"../../app/static/vendor/leaflet-{LEAFLET_VERSION}"
"""Vendored Leaflet, relative to the st_folium iframe (see the module docstring)."""

LEAFLET_JS = (("leaflet", f"{ASSET_BASE_URL}/leaflet.js"),)
LEAFLET_CSS = (("leaflet_css", f"{ASSET_BASE_URL}/leaflet.css"),)

BASEMAP_ENV_VAR = "QPV_BASEMAP"
"""Environment variable choosing the basemap shown first (tests use ``aucun``: no tiles)."""


@dataclass(frozen=True)
class Basemap:
    """A background the user can pick in the layer control.

    ``tiles`` is a Leaflet URL template, or None for the empty background.
    """

    key: str
    name: str
    tiles: str | None = None
    attribution: str = ""
    max_zoom: int = 19


PLAN_IGN = Basemap(
    key="plan_ign",
    name="Plan IGN",
    tiles=(
        "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM"
        "&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
    ),
    attribution="© IGN – Géoplateforme",
)
OSM = Basemap(
    key="osm",
    name="OpenStreetMap",
    tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    attribution=(
        '© <a href="https://www.openstreetmap.org/copyright">les contributeurs d’OpenStreetMap</a>'
    ),
)
NO_BASEMAP = Basemap(key="aucun", name="Sans fond de carte")

BASEMAPS = (PLAN_IGN, OSM, NO_BASEMAP)
"""Every background, in the order of the layer control."""

DEFAULT_BASEMAP = PLAN_IGN.key

# Elements that need a library make_map does not load: folium.Popup builds its content with
# jQuery's $(), folium.Icon is a Leaflet.awesome-markers icon.
_NEEDS_DROPPED_LIBRARY = {
    folium.Popup: "jQuery",
    folium.Icon: "Leaflet.awesome-markers",
}


def default_basemap() -> str:
    """Return the key of the basemap shown first: ``$QPV_BASEMAP`` or ``DEFAULT_BASEMAP``."""
    key = os.environ.get(BASEMAP_ENV_VAR, "").strip() or DEFAULT_BASEMAP
    return get_basemap(key).key


def get_basemap(key: str) -> Basemap:
    """Return the basemap named by ``key`` (``plan_ign``, ``osm`` or ``aucun``)."""
    for basemap in BASEMAPS:
        if basemap.key == key:
            return basemap
    known = ", ".join(b.key for b in BASEMAPS)
    raise ValueError(f"unknown basemap {key!r}, expected one of: {known}")


def make_map(*, basemap: str | None = None, **folium_kwargs) -> folium.Map:
    """Create a ``folium.Map`` loading the vendored Leaflet, with the three basemaps.

    Parameters
    ----------
    basemap : str, optional
        Key of the background shown first (see ``BASEMAPS``); default ``default_basemap()``.
        The other backgrounds are created hidden: they request no tile until picked.
    **folium_kwargs
        Passed to ``folium.Map`` (``location``, ``zoom_start``, ``control_scale``...), except
        ``tiles``: backgrounds come from ``BASEMAPS``.

    Returns
    -------
    folium.Map
        Add overlays to it, then ``add_layer_control(m)`` last.
    """
    if "tiles" in folium_kwargs:
        raise TypeError("make_map() sets the tiles itself: pass basemap= instead of tiles=")
    shown = get_basemap(basemap) if basemap is not None else get_basemap(default_basemap())
    m = use_local_assets(folium.Map(tiles=None, **folium_kwargs))
    for candidate in BASEMAPS:
        _basemap_layer(candidate, show=candidate == shown).add_to(m)
    return m


def add_layer_control(m: folium.Map) -> folium.LayerControl:
    """Add the control switching backgrounds and overlays; call it after the last overlay.

    Leaflet's control references each layer by its JavaScript variable, so a control emitted
    before an overlay would point at an undefined variable.
    """
    return folium.LayerControl(position="topright", collapsed=True).add_to(m)


def use_local_assets(m: folium.Map) -> folium.Map:
    """Make ``m`` load the vendored Leaflet only, and return it.

    The lists are set on the instance: folium's ``add_js_link`` mutates the class-level lists
    shared by every Map of the process.
    """
    if not isinstance(m, folium.Map):
        raise TypeError(f"expected a folium.Map, got {type(m).__name__}")
    m.default_js = list(LEAFLET_JS)
    m.default_css = list(LEAFLET_CSS)
    return m


def remote_assets(m: folium.Map) -> list[str]:
    """List what would make ``m`` fetch code from the internet, or fail without it.

    Mirrors what ``st_folium`` loads: the ``default_js``/``default_css`` of every folium plugin
    in the tree, d3 from two CDNs for any branca colormap, plus the elements that rely on a
    library ``make_map`` drops. An empty list means the map renders offline.
    """
    problems = []
    for element in _walk(m):
        kind = type(element).__name__
        if isinstance(element, ColorMap):
            problems.append(f"{kind}: st_folium loads d3 from a CDN for colormaps")
        links = [*getattr(element, "default_js", []), *getattr(element, "default_css", [])]
        for _, url in links:
            if not url.startswith(ASSET_BASE_URL):
                problems.append(f"{kind}: {url}")
        for element_type, library in _NEEDS_DROPPED_LIBRARY.items():
            if isinstance(element, element_type):
                problems.append(f"{kind}: needs {library}, which is not vendored")
    return problems


def _basemap_layer(basemap: Basemap, *, show: bool) -> folium.map.Layer:
    if basemap.tiles is None:
        # An empty group is a valid Leaflet base layer: picking it removes the tiles.
        return folium.FeatureGroup(name=basemap.name, overlay=False, control=True, show=show)
    # A TileProvider, not a URL string: given a string, folium searches the whole xyzservices
    # catalogue for it (about 6 ms per layer, on every rerun).
    provider = xyzservices.TileProvider(
        name=basemap.key, url=basemap.tiles, attribution=basemap.attribution
    )
    return folium.TileLayer(
        tiles=provider,
        attr=basemap.attribution,
        name=basemap.name,
        max_zoom=basemap.max_zoom,
        overlay=False,
        control=True,
        show=show,
    )


def _walk(element) -> Iterator:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)
