"""What every page of the app shares around it: the list of pages and the favicon.

``app.py`` runs on every rerun of every page; what it needs is made here once: the favicon's
data URL once per process, the ``st.Page`` list once per session.
"""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path

import streamlit as st

FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.png"
_PAGES_KEY = "_qpv_pages"
# (file in pages/, title in the menu, address); the first is the default page, at /.
PAGE_FILES = (
    ("carte", "Carte des quartiers", ""),
    ("adresse", "Suis-je en QPV ?", "adresse"),
    ("fichier", "Vérifier un fichier", "fichier"),
    ("comparer", "Comparer", "comparer"),
    ("presentation", "Présentation", "presentation"),
    ("contrat_de_ville", "Contrat de ville", "contrat-de-ville"),
    ("sources", "Sources et limites", "sources"),
)


@cache
def favicon_url() -> str:
    """The favicon as a data URL, served in the page itself.

    As a file path, Streamlit reads, hashes and registers the image again on every rerun of
    every page (0,4 ms each).
    """
    return "data:image/png;base64," + base64.b64encode(FAVICON.read_bytes()).decode()


def pages() -> list:
    """The app's pages, made once per session.

    ``st.Page`` resolves its file's path (a system call per folder) when made; sessions do not
    share them (Streamlit marks the page it runs on the object). No page icons: Streamlit turns
    the current page's icon into the favicon, fetched from a font CDN that an offline machine
    cannot reach.
    """
    if _PAGES_KEY not in st.session_state:
        st.session_state[_PAGES_KEY] = [
            st.Page(
                f"pages/{name}.py",
                title=title,
                **({"url_path": path} if path else {"default": True}),
            )
            for name, title, path in PAGE_FILES
        ]
    return st.session_state[_PAGES_KEY]
