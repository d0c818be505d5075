"""The French catch-all: an unexpected error while a page runs ends in a French message.

Streamlit would show its own English banner (« This app has encountered an error… »; the trace
itself is hidden by ``client.showErrorDetails = "none"``). Known failures (data, address
service, files) have their own French messages where they happen; this is for the others.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

_LOGGER = logging.getLogger(__name__)

UNEXPECTED_ERROR = (
    "**Une erreur inattendue de l'application a interrompu cette page.** "
    "Rechargez la page (touche F5) pour réessayer ; si l'erreur revient, signalez-la à "
    "l'équipe qui gère l'application en indiquant la page et la référence ci-dessous.\n\n"
    "Référence de l'erreur : `{reference}`"
)


@contextmanager
def unexpected_errors_in_french(page: str) -> Iterator[None]:
    """Show any unexpected exception of the block as a French message, and log its trace.

    ``st.stop``, ``st.rerun`` and ``st.switch_page`` raise ``BaseException`` subclasses
    (Streamlit's ``ScriptControlException``): they are not caught and keep their meaning.

    Parameters
    ----------
    page : str
        The page's title, written in the log with the trace.
    """
    try:
        yield
    except Exception:  # anything a page did not foresee; the trace goes to the server's log
        reference = secrets.token_hex(4)
        _LOGGER.exception("Unexpected error on page %r (reference %s)", page, reference)
        st.error(UNEXPECTED_ERROR.format(reference=reference))
