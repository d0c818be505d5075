"""What the map's first drawing needs, asked for by the page shell before the app runs.

On a first visit the browser learns that the page holds a map only when the script's first
messages arrive; it then fetches, one after the other, Streamlit's module for custom components
(``BidiComponent``), the map's module (``static/qpv-map/map.js``) and Leaflet, each waiting
behind the ~40 modules of the other widgets (bench/bench_shell.py). Named in the page's
``<head>``, they are fetched while Streamlit's own code loads, and are in the browser's cache
when the map is mounted. The map page is the app's default page and ``/adresse`` has the same
map; on the other pages they cost about 80 kB fetched once, not run.
"""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path

import streamlit

STREAMLIT_JS = Path(streamlit.__file__).resolve().parent / "static" / "static" / "js"
"""Streamlit's front-end modules (their names carry a hash of their content)."""


@cache
def map_preloads() -> str:
    """``<link>`` tags preloading the map component's code (HTML, for the page's ``<head>``).

    Streamlit's component module is found by name; if a later Streamlit renames it, that tag is
    left out (the map still loads, a little later).
    """
    from ui.leaflet import leaflet_url, module_url  # needs Streamlit's options, read by now

    links = [
        # Same attributes as Streamlit's own module preloads: the browser reuses the answer.
        f'<link rel="modulepreload" crossorigin href="./static/js/{chunk.name}">'
        for chunk in sorted(STREAMLIT_JS.glob("BidiComponent.*.js"))[:1]
    ]
    links.append(f'<link rel="modulepreload" crossorigin href="{escape(module_url())}">')
    leaflet = escape(leaflet_url())
    links.append(f'<link rel="preload" as="script" href="{leaflet}/leaflet.js">')
    links.append(f'<link rel="preload" as="style" href="{leaflet}/leaflet.css">')
    return "\n    ".join(links)
