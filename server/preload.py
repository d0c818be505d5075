"""What the map's first drawing needs, asked for by the page shell before the app runs.

On a first visit the browser learns that the page holds a map only when the script's first
messages arrive; it then fetches, one after the other, Streamlit's module for custom components
(``BidiComponent``), the map's module (``static/qpv-map/map.js``) and Leaflet. Named in the
page's ``<head>``, they are fetched while Streamlit's own code loads, and are in the browser's
cache when the map is mounted. The map page is the app's default page and ``/adresse`` has the
same map; on the other pages they cost about 380 kB (before compression) fetched once, not
run.

The modules of the map page's other widgets (filters, panel) are not named: the map page shows
its map first and the rest once the map is drawn (``ui.carte.first_screen``). Preloaded, those
~40 modules were compiled while the map waited for the two cores (bench/bench_shell.py: the
map drawn 0,3 s later, the whole page no sooner).
"""

from __future__ import annotations

import re
from functools import cache
from html import escape
from pathlib import Path

import streamlit

STREAMLIT_JS = Path(streamlit.__file__).resolve().parent / "static" / "static" / "js"
"""Streamlit's front-end modules (their names carry a hash of their content)."""


# A static import in a built module: ``import{a as b}from"./x.js"`` or ``import"./x.js"``.
_STATIC_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"\./([\w.-]+\.js)"')
_NAMED = re.compile(r'(?:src|href)="\./static/js/([\w.-]+\.js)"')

# What Streamlit's component module needs when the map mounts, found by the start of their file
# name: the module itself and the Arrow code it imports then. A name Streamlit no longer uses
# is skipped.
COMPONENT_MODULES = ("BidiComponent", "serialization")


def _module_link(name: str) -> str:
    # Same attributes as Streamlit's own module preloads: the browser reuses the answer.
    return f'<link rel="modulepreload" crossorigin href="./static/js/{escape(name)}">'


def _modules(names: tuple[str, ...]) -> list[str]:
    """Streamlit's modules called ``names`` (found by the start of their file name) and those
    they import, less those Streamlit's page already names."""
    index = STREAMLIT_JS.parent.parent / "index.html"
    named = set(_NAMED.findall(index.read_text("utf-8"))) if index.is_file() else set()
    todo = [chunk.name for name in names for chunk in sorted(STREAMLIT_JS.glob(f"{name}.*.js"))[:1]]
    found: list[str] = []
    while todo:
        name = todo.pop(0)
        if name in named or name in found:
            continue
        if (STREAMLIT_JS / name).is_file():
            found.append(name)
            todo.extend(_STATIC_IMPORT.findall((STREAMLIT_JS / name).read_text("utf-8")))
    return found


@cache
def map_preloads() -> str:
    """``<link>`` tags preloading the map component's code (HTML, for the start of the page's
    ``<head>``, before Streamlit's own code).

    Streamlit's component module (and what it imports) is found by name; if a later Streamlit
    renames it, those tags are left out (the map still loads, a little later).
    """
    from ui.leaflet import leaflet_url, module_url  # needs Streamlit's options, read by now

    links = [_module_link(name) for name in _modules(COMPONENT_MODULES)]
    links.append(f'<link rel="modulepreload" crossorigin href="{escape(module_url())}">')
    leaflet = escape(leaflet_url())
    links.append(f'<link rel="preload" as="script" href="{leaflet}/leaflet.js">')
    links.append(f'<link rel="preload" as="style" href="{leaflet}/leaflet.css">')
    return "\n    ".join(links)
