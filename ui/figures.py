"""Headline figures for a projector: large values, their labels, years and sources.

``st.metric`` puts the label above the value: labels of different lengths wrap to different
heights and push their values down, out of line. Here each figure is its value first (number
large, unit smaller), then its label, then its year and source, in a CSS grid: the values of a
row share one baseline whatever their labels. Every text is escaped before it goes into HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import streamlit as st

from geo.facts import Fact, FactBook, book_of
from geo.store import Dataset
from ui.derived import per_build
from ui.memory import keep_for_process

CLASS = "qpv-figures"
HEADLINE = "qpv-headline"  # a selection's figures with what they show and their caveats
# Sizes follow the window's width (a 1024 px projector has room for less), the value always at
# least twice its label: 1.9 / 0.9 on narrow screens, 2.6 / 1.05 on wide ones.
VALUE_SIZE = "clamp(1.9rem, 2.6vw, 2.6rem)"
LABEL_SIZE = "clamp(0.9rem, 1.1vw, 1.05rem)"
NOTE_SIZE = "clamp(0.75rem, 0.9vw, 0.85rem)"
CSS = f"""
<style>
.{CLASS} {{ display: grid; grid-template-columns: repeat(var(--qpv-columns), minmax(0, 1fr));
  column-gap: 1.25rem; row-gap: 0.9rem; margin: 0 0 0.6rem 0; }}
.{CLASS} .qpv-figure {{ display: flex; flex-direction: column; min-width: 0; }}
.{CLASS} .qpv-figure-value {{ font-size: {VALUE_SIZE}; font-weight: 700; line-height: 1.1;
  color: #000000; overflow-wrap: anywhere; }}
.{CLASS} .qpv-figure-value small {{ font-size: 0.5em; font-weight: 600; }}
.{CLASS} .qpv-figure-label {{ font-size: {LABEL_SIZE}; line-height: 1.25; color: #000000;
  margin-top: 0.15rem; }}
.{CLASS} .qpv-figure-note {{ font-size: {NOTE_SIZE}; line-height: 1.25; color: #2A2A2A;
  margin-top: 0.1rem; }}
.{HEADLINE} p {{ margin: 0 0 0.5rem 0; }}
.{HEADLINE} .{HEADLINE}-notes {{ font-size: 0.875rem; color: #5F5F5F; }}
.{HEADLINE} .{HEADLINE}-empty {{ padding: 0.75rem 1rem; border-radius: 0.5rem;
  background: #E8EDFF; color: #000091; }}
</style>
"""
# "environ 9 748", "5 551 hab./km²", "19 sur 36", "49,0 %": the number is what is large.
_NUMBER = re.compile(r"^(?P<before>\D*?)(?P<number>\d[\d\s\u00a0,]*(?:\s?%)?)(?P<after>.*)$")


@per_build(maxsize=4)
def fact_book(dataset: Dataset) -> FactBook:
    """The dataset's :class:`~geo.facts.FactBook`, one per process and build of the tables."""
    book = book_of(dataset)  # the one FactBook of this dataset, shared with geo.compare
    # Every quartier's facts now, once per build (a few tens of ms): otherwise the first rerun
    # showing a commune builds those of its quartiers, in the user's wait (bench/bench_map.py).
    for code in dataset.qpv["code"]:
        book.quartier(code)
    return keep_for_process(book)


def figures_html(facts: Sequence[Fact], *, columns: int = 2) -> str:
    """The figures as an HTML grid of ``columns`` columns (every text escaped)."""
    cells = []
    for fact in facts:
        cells.append(
            f'<div class="qpv-figure" data-key="{html.escape(fact.key)}">'
            f'<div class="qpv-figure-value">{_value_html(fact.text)}</div>'
            f'<div class="qpv-figure-label">{html.escape(fact.label)}</div>'
            f'<div class="qpv-figure-note">{html.escape(fact.provenance)}</div></div>'
        )
    return f'<div class="{CLASS}" style="--qpv-columns: {int(columns)}">{"".join(cells)}</div>'


def render_figures(facts: Sequence[Fact], *, columns: int = 2) -> None:
    """Show the figures (the grid's style is added once per run)."""
    render_html(figures_html(facts, columns=columns))


def render_html(body: str) -> None:
    """Show ``body``, HTML using this module's classes (escaped by its maker), with their style,
    in one element."""
    st.markdown(CSS + body, unsafe_allow_html=True)


def _value_html(text: str) -> str:
    match = _NUMBER.match(text)
    if not match:
        return html.escape(text)
    before, number, after = match.group("before", "number", "after")
    digits = number.rstrip()
    return _small(before) + html.escape(digits) + _small(number[len(digits) :] + after)


def _small(text: str) -> str:
    return f"<small>{html.escape(text)}</small>" if text.strip() else html.escape(text)
