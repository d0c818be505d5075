"""Charts, drawn one way: horizontal bars with their values written, French numbers and colours.

Every chart of the app is a :func:`horizontal_bars` (the comparison's indicators, the contrat de
ville's funding): categories on the vertical axis, each bar's value printed at its end, a legend
of kinds under the chart, French numbers on the axis (:data:`FRENCH_NUMBER`). :func:`accessible`
is how charts are announced to screen readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

TEXT = "#161616"
FRENCH_NUMBER = "replace(replace(format(datum.value, ',~f'), ',', ' '), '.', ',')"
"""Vega expression writing an axis value in French (« 12 345,6 »)."""
FRENCH_MILLIONS = "replace(format(datum.value / 1e6, '.1f'), '.', ',')"
"""Vega expression writing an amount in millions, one decimal (« 2,4 »)."""
FONT_SIZE = 12


def horizontal_bars(
    frame: pd.DataFrame,
    *,
    category: str,
    value: str,
    kind: str,
    label: str,
    colours: Mapping[str, str],
    title: str,
    value_title: str,
    tooltip: Sequence[tuple[str, str]],
    axis_labels: str = FRENCH_NUMBER,
    label_at: str | None = None,
    category_width: int = 320,
    category_size: int = FONT_SIZE,
    step: int = 26,
) -> alt.LayerChart:
    """One bar per row of ``frame``, in its order, coloured by ``kind``, its ``label`` written.

    Parameters
    ----------
    category, value, kind, label
        Columns: the bar's name, its length, its kind (legend and colour), its written value.
    colours
        Kind -> colour, in the legend's order; kinds absent from ``frame`` are left out.
    tooltip
        ``(column, title)`` pairs shown on hover.
    label_at
        Column placing each written value (default ``value``; a bar without value still needs
        a place for « valeur manquante »).
    """
    present = [k for k in colours if k in set(frame[kind])]
    base = alt.Chart(frame).encode(
        y=alt.Y(
            f"{category}:N",
            sort=None,
            title=None,
            axis=alt.Axis(labelLimit=category_width, labelFontSize=category_size, labelColor=TEXT),
        ),
    )
    bars = base.mark_bar().encode(
        x=alt.X(
            f"{value}:Q",
            title=value_title,
            axis=alt.Axis(labelExpr=axis_labels, labelColor=TEXT, titleColor=TEXT),
        ),
        color=alt.Color(
            f"{kind}:N",
            title=None,
            scale=alt.Scale(domain=present, range=[colours[k] for k in present]),
            legend=alt.Legend(orient="bottom", labelColor=TEXT, labelFontSize=FONT_SIZE),
        ),
        tooltip=[alt.Tooltip(f"{column}:N", title=name) for column, name in tooltip],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=FONT_SIZE, color=TEXT).encode(
        x=f"{label_at or value}:Q", text=f"{label}:N"
    )
    return (bars + labels).properties(title=alt.Title(title, color=TEXT), height=alt.Step(step))


def accessible(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """``chart`` without Vega's own descriptions of its axes, legends and bars.

    Vega describes each of them in English (« X-axis titled … for a linear scale with values
    from 0 to 4,500,000 », « funder: État; kind: … »). Without them a screen reader announces the
    chart by its (French) title; every page that draws a chart also shows its figures in a table.
    What Vega still writes (« Title text '…' ») is translated by the page shell
    (``server/french_strings.json``).
    """
    return chart.configure(aria=False).configure_mark(aria=False)
