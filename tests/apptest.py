"""Open the app's pages with Streamlit's AppTest as a browser would, and read what they show."""

import re

from browser import REPO_ROOT
from streamlit.testing.v1 import AppTest

APP = str(REPO_ROOT / "app.py")
TIMEOUT = 120
SHOWN = ("markdown", "caption", "info", "warning", "error")


def open_page(page: str | None = None, *, timeout: float = TIMEOUT, **params: str) -> AppTest:
    """Run ``app.py`` on ``page`` (a file under ``pages/``; None: the map) with query params.

    A first run lets ``st.navigation`` register the pages: only then does ``switch_page`` find
    a page whose URL differs from its file name, and run it inside ``app.py`` as a browser
    visit would (see ``AppTest.switch_page``).
    """
    at = AppTest.from_file(APP, default_timeout=timeout)
    if page is not None:
        at.run()
        at.switch_page(page)
        at.query_params.clear()
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return at


def unescape(markdown: str) -> str:
    """Markdown text without its backslash escapes."""
    return re.sub(r"\\(.)", r"\1", markdown)


def text_of(at: AppTest, kinds: tuple[str, ...] = SHOWN) -> str:
    """Everything written on the page, Markdown escapes and bold markers removed."""
    return "\n".join(unescape(e.value).replace("**", "") for kind in kinds for e in at.get(kind))
