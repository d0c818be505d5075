"""Text made safe for Streamlit's Markdown: every string from a user or the data goes through here.

:func:`escape_markdown` makes any text inert (shown as typed, never interpreted);
:func:`excerpt` shortens a value a user gave (a link's parameter, a typed address) before
quoting it in a message; :func:`excerpt_codes` quotes a few codes of a link and counts the
others; :func:`fenced` shows a text verbatim in a code block.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from geo.format import fr_int

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")
_QUOTED_CODES = 5


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown-active character backslash-escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def excerpt(value: str, *, limit: int = 40) -> str:
    """A user-supplied value, shortened and made inert for Markdown, to quote in a message."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    text = "".join(c for c in text if c.isprintable())
    return escape_markdown(text)


def excerpt_codes(codes: Sequence[str]) -> str:
    """Codes from a link, quoted for a message: the first few, then how many others."""
    shown = ", ".join(f"« {excerpt(code)} »" for code in codes[:_QUOTED_CODES])
    if len(codes) > _QUOTED_CODES:
        shown += f" et {fr_int(len(codes) - _QUOTED_CODES)} autres"
    return shown


def fenced(text: str, language: str = "") -> str:
    """``text`` as a Markdown code block, shown verbatim whatever it holds."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}{language}\n{text}\n{fence}"
