"""The point -> QPV locator, built once per server process and shared by every session."""

from __future__ import annotations

import streamlit as st

from geo.locate import Locator, build_locator
from geo.store import Dataset
from ui.data import get_dataset
from ui.memory import keep_for_process


@st.cache_resource(show_spinner="Préparation de la localisation des adresses…")
def _locator(siren: str, *, _dataset: Dataset) -> Locator:
    # ``siren`` keys the cache: one dataset, hence one locator, per territory.
    return keep_for_process(build_locator(_dataset))


def get_locator() -> Locator:
    """The locator of the app's territory (its indexes take a couple of seconds to build)."""
    dataset = get_dataset()
    return _locator(dataset.siren, _dataset=dataset)
