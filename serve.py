"""Launcher: ``streamlit run serve.py`` serves ``app.py`` faster and in French.

Streamlit runs ``app.py`` unchanged (through ``st.App``, its documented ASGI entry point); the
launcher adds ``TCP_NODELAY`` on every connection (``server/nodelay.py``) and the French page
shell (``server/french_shell.py``), which asks for the map's code at once (``server/preload.py``).
Every ``streamlit run`` option applies, e.g.
``streamlit run serve.py --server.port 8502``. ``streamlit run serve.py -- other.py`` serves
another script the same way (tests and benchmarks). ``streamlit run app.py`` still works, with
English built-in strings and a 40 ms stall per response.
"""

import sys
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from server import nodelay
from server.app_pages import declare_app_navigation
from server.french_shell import FrenchShell
from server.preload import map_preloads

nodelay.install()  # before uvicorn starts serving: it imports this module first
declare_app_navigation()  # before the first visitor: a shared link opens its page directly

APP = Path(__file__).with_name("app.py")
SCRIPT = Path(sys.argv[1]) if len(sys.argv) > 1 else APP
# The preloads name the modules of the app's map page: another script gets the French shell
# only (the minimal pages the benchmarks compare the app with must not load the app's code).
PRELOADS = {"head": map_preloads} if SCRIPT.resolve() == APP.resolve() else {}

app = st.App(
    SCRIPT,
    middleware=[Middleware(FrenchShell, **PRELOADS)],
    lifespan=nodelay.lifespan,
)
