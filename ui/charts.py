"""Charts as screen readers announce them: their French title, no English from Vega."""

from __future__ import annotations

import altair as alt


def accessible(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """``chart`` without Vega's own descriptions of its axes, legends and bars.

    Vega describes each of them in English (« X-axis titled … for a linear scale with values
    from 0 to 4,500,000 », « funder: État; kind: … »). Without them a screen reader announces the
    chart by its (French) title; every page that draws a chart also shows its figures in a table.
    What Vega still writes (« Title text '…' ») is translated by the page shell
    (``server/french_strings.json``).
    """
    return chart.configure(aria=False).configure_mark(aria=False)
