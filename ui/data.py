"""Cached loaders: the only place the app reads the processed tables.

The processed data is checked (and built when missing or stale) once per server process, with a
visible progress indication; it is then held once per process in ``st.cache_resource`` and shared
by every session. A page rerun never rebuilds nor re-reads anything.
"""

from __future__ import annotations

import os
import threading

import streamlit as st

from geo import fetch
from geo.build import ensure_built
from geo.contract import ContractFacts, load_contract_facts
from geo.errors import QPVError
from geo.store import Dataset, load_dataset
from geo.territory import DEFAULT_TERRITORY

_checked: set[str] = set()
_APP_RAN = "_qpv_app_navigation"
_lock = threading.Lock()

HELP_NO_DATA = (
    "Les données des quartiers prioritaires n'ont pas pu être préparées. "
    "Sans accès à internet, indiquez un dossier miroir des fichiers officiels avec la variable "
    "d'environnement `QPV_DATA_MIRROR` (par exemple `QPV_DATA_MIRROR=../shared/data`), ou "
    "lancez `python -m geo build --mirror DOSSIER`, puis rechargez la page."
)


def territory_siren() -> str:
    """The EPCI the app covers (``QPV_TERRITORY``, default the CA de Lens-Liévin)."""
    return os.environ.get("QPV_TERRITORY", DEFAULT_TERRITORY)


@st.cache_resource(show_spinner=False)
def _load(territory: str) -> Dataset:
    return load_dataset(territory)


def _prepare(territory: str) -> None:
    """Check the processed tables once per process; build them with a progress display."""
    slot = st.empty()
    with slot.status("Préparation des données…", expanded=False) as status:
        try:
            mirror = fetch.resolve_mirror(None)
            reason = ensure_built(territory, mirror=mirror, log=lambda msg: status.write(msg))
        except QPVError as exc:
            status.update(label="Données indisponibles", state="error")
            st.error(f"{HELP_NO_DATA}\n\nDétail : {exc}")
            st.stop()
        if reason is not None:
            status.update(label="Données préparées", state="complete")
            _load.clear()
    if reason is None:
        slot.empty()  # nothing was built: no status box to keep


def _ensure_app_navigation() -> None:
    """Rerun through app.py when Streamlit ran a page file on its own.

    Until ``app.py`` has called ``st.navigation`` once in a server process, Streamlit 1.67 treats
    the ``pages/`` folder as an old-style multipage app: a shared link such as ``/sources``
    opened first on a fresh server would run ``pages/sources.py`` alone (no sidebar, no French
    titles). Every page loads its data through here, so this is where it is caught.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get(_APP_RAN):
        PagesManager.uses_pages_directory = False
        st.rerun()


def mark_app_navigation() -> None:
    """Record that this session's run went through ``app.py`` (called by app.py only)."""
    st.session_state[_APP_RAN] = True


def get_dataset() -> Dataset:
    """The dataset of the territory, prepared on first use, or a French error and stop."""
    _ensure_app_navigation()
    territory = territory_siren()
    if territory not in _checked:
        with _lock:
            if territory not in _checked:
                _prepare(territory)
                _checked.add(territory)
    try:
        return _load(territory)
    except QPVError as exc:
        st.error(f"{HELP_NO_DATA}\n\nDétail : {exc}")
        st.stop()
        raise  # unreachable: st.stop() raises


@st.cache_resource(show_spinner=False)
def contract_facts() -> ContractFacts:
    """The contrat de ville facts file, read once per process."""
    return load_contract_facts()
