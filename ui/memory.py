"""Keep the process-wide objects out of the garbage collector's full scans.

Streamlit runs a full collection (``gc.collect(2)``) after every script run. Its cost grows with
every object alive in the process: with the app's modules, tables, locator and map layers, about
60 ms per run, half of the server's CPU per rerun under load (``bench/load_server.py``). Those
objects live as long as the process: once one of them is built, everything alive is moved to the
collector's permanent generation (``gc.freeze``), so that later collections only scan what the
runs create. Reference counting still frees frozen objects; only cycles among them would stay.
"""

from __future__ import annotations

import gc
from typing import TypeVar

T = TypeVar("T")


def keep_for_process(value: T) -> T:
    """Return ``value``, a process-wide resource just built, after freezing what is alive."""
    gc.collect()  # what is garbage now must not be frozen with the rest
    gc.freeze()
    return value
