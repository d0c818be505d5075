"""Cached loaders: the only place the app reads the processed tables.

The processed data is checked (and built when missing or stale) once per server process, with a
visible progress indication; it is then held once per process in ``st.cache_resource`` and shared
by every session. A page rerun never rebuilds nor re-reads anything.
"""

from __future__ import annotations

import os
import shlex
import threading
from typing import NoReturn

import streamlit as st

from geo import fetch
from geo.build import ensure_built
from geo.contract import ContractFacts, load_contract_facts
from geo.errors import ChecksumError, DatasetUnavailableError, FolderNotWritableError, QPVError
from geo.sources import DATASETS
from geo.store import Dataset, load_dataset, read_territory_name
from geo.territory import DEFAULT_TERRITORY
from ui import navigation
from ui.markdown import escape_markdown, fenced
from ui.memory import keep_for_process

_checked: set[str] = set()
_lock = threading.Lock()

HELP_FAILED = "Les données des quartiers prioritaires n'ont pas pu être préparées."
# The README's command, started with a mirror folder: what an operator without internet types.
LAUNCH_COMMAND = "streamlit run serve.py --server.address 127.0.0.1"
MIRROR_PLACEHOLDER = "/chemin/du/miroir"
HELP_DAMAGED_SOURCE = (
    f"{HELP_FAILED} "
    "Un fichier source est endommagé ou n'est pas celui qui a été publié (sa somme SHA-256 "
    "diffère, voir le détail) : remplacez-le par le fichier original, ou retirez-le du dossier "
    "miroir (`QPV_DATA_MIRROR`) ou du cache (`QPV_CACHE_DIR`) pour qu'il soit obtenu de nouveau, "
    "puis rechargez la page."
)
HELP_NOT_WRITABLE = {
    "QPV_PROCESSED_DIR": (
        f"{HELP_FAILED} "
        "Le dossier des données préparées n'est pas accessible en écriture : indiquez-en un autre "
        "avec la variable d'environnement `QPV_PROCESSED_DIR`, ou donnez le droit d'y écrire à "
        "l'utilisateur qui lance l'application, puis redémarrez-la."
    ),
    "QPV_CACHE_DIR": (
        f"{HELP_FAILED} "
        "Le cache des fichiers téléchargés n'est pas accessible en écriture : indiquez-en un autre "
        "avec la variable d'environnement `QPV_CACHE_DIR`, ou un dossier miroir des fichiers "
        "officiels avec `QPV_DATA_MIRROR`, puis redémarrez l'application."
    ),
}
HELP_OTHER = (
    f"{HELP_FAILED} "
    "Relancez `python -m geo build` (avec `--mirror DOSSIER` sans accès à internet), puis "
    "rechargez la page."
)


def help_no_data() -> str:
    """What is missing when no source could provide the files, and the two ways out (French).

    The hosts, the files without a download address and the command come from the dataset table
    (``geo.sources``) and the launch command; the mirror folder is ``QPV_DATA_MIRROR`` if set.
    """
    hosts = ", ".join(f"`{host}`" for host in fetch.download_hosts())
    internet = (
        "1. **Avec accès à internet** : autorisez ce serveur à joindre les adresses officielles "
        f"des fichiers ({hosts}), puis rechargez la page : ils sont téléchargés une seule fois "
        "et gardés en cache."
    )
    only = fetch.mirror_only()
    if only:
        names = ", ".join(
            f"« {escape_markdown(DATASETS[s.dataset].title)} » ({escape_markdown(s.path)})"
            for s in only
        )
        internet += (
            f" Sans adresse de téléchargement connue, {names} ne peut venir que d'un dossier "
            "miroir (solution 2)."
        )
    mirror = os.environ.get(fetch.MIRROR_ENV) or MIRROR_PLACEHOLDER
    command = f"{fetch.MIRROR_ENV}={shlex.quote(mirror)} {LAUNCH_COMMAND}"
    return (
        f"{HELP_FAILED} Il manque les fichiers officiels d'où elles viennent (périmètres des "
        "quartiers, populations, communes) : l'application n'a pu ni les télécharger, ni les "
        "lire dans un dossier miroir. Deux solutions :\n\n"
        f"{internet}\n"
        "2. **Sans accès à internet** : copiez les fichiers officiels dans un dossier (le "
        f"miroir), indiquez-le à l'application par la variable `{fetch.MIRROR_ENV}` et "
        "relancez-la :\n\n"
        f"{fenced(command, 'bash')}"
    )


def data_error_help(exc: QPVError) -> str:
    """What the user can do about a data error (French), chosen from its class."""
    if isinstance(exc, FolderNotWritableError):
        return HELP_NOT_WRITABLE.get(exc.env, HELP_OTHER)
    if isinstance(exc, ChecksumError):
        return HELP_DAMAGED_SOURCE
    if isinstance(exc, DatasetUnavailableError):
        return help_no_data()
    return HELP_OTHER


def _stop_on_data_error(exc: QPVError) -> NoReturn:
    """The error, what to do and the detail, in one box; nothing else runs on the page."""
    st.error(f"{data_error_help(exc)}\n\nDétail :\n\n{fenced(str(exc), 'text')}")
    st.stop()


def territory_siren() -> str:
    """The EPCI the app covers (``QPV_TERRITORY``, default the CA de Lens-Liévin)."""
    return os.environ.get("QPV_TERRITORY", DEFAULT_TERRITORY)


@st.cache_resource(show_spinner=False)
def _load(territory: str) -> Dataset:
    return keep_for_process(load_dataset(territory))


_names: dict[str, str] = {}


def territory_name() -> str | None:
    """The name of the app's territory as the prepared data gives it, or None before the data
    is prepared (the app's title is then neutral). Read once per process."""
    territory = territory_siren()
    if territory not in _names:
        name = read_territory_name(territory)
        if name is None:
            return None
        _names[territory] = name
    return _names[territory]


def _prepare(territory: str) -> None:
    """Check the processed tables once per process; build them with a progress display.

    Pages call this before writing anything: a failure replaces the progress box with the
    error, first on the page and open, and stops the page.
    """
    first = st.empty()  # stays empty unless the data cannot be prepared
    slot = st.empty()
    failure: QPVError | None = None
    with slot.status("Préparation des données…", expanded=False) as status:
        try:
            mirror = fetch.resolve_mirror(None)
            reason = ensure_built(territory, mirror=mirror, log=lambda msg: status.write(msg))
        except QPVError as exc:
            failure = exc
        else:
            if reason is not None:
                status.update(label="Données préparées", state="complete")
                _load.clear()
    if failure is not None:
        slot.empty()  # the progress box and its lines go
        with first.container():
            _stop_on_data_error(failure)
    if reason is None:
        slot.empty()  # nothing was built: no status box to keep


def get_dataset() -> Dataset:
    """The dataset of the territory, prepared on first use, or a French error and stop."""
    navigation.ensure_app_navigation()
    territory = territory_siren()
    if territory not in _checked:
        with _lock:
            if territory not in _checked:
                _prepare(territory)
                _checked.add(territory)
    try:
        return _load(territory=territory)  # by keyword: see ui.derived
    except QPVError as exc:
        _stop_on_data_error(exc)
        raise  # unreachable: st.stop() raises


@st.cache_resource(show_spinner=False)
def contract_facts() -> ContractFacts:
    """The contrat de ville facts file, read once per process."""
    return keep_for_process(load_contract_facts())
