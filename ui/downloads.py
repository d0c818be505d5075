"""Download buttons for tables: French CSV or Excel, written only when the user clicks.

The file is built by a callable, so a page rerun never serialises a table nobody asked for, and
a click does not rerun the page (``on_click="ignore"``): on the map page, a rerun resends the map.
An Excel button says under it when cells are too long for Excel (``geo.export.excel_cut_note``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo.export import excel_cut_note, to_csv_fr, to_excel
from ui.markdown import escape_markdown

CSV_MIME = "text/csv"
EXCEL_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_button(label: str, table: pd.DataFrame, file_name: str, *, where=st) -> None:
    """A button downloading ``table`` as a French CSV (see ``geo.export.to_csv_fr``)."""
    _button(where, label, lambda: to_csv_fr(table), file_name, CSV_MIME)


def excel_button(
    label: str, table: pd.DataFrame, file_name: str, *, sheet_name: str, where=st
) -> None:
    """A button downloading ``table`` as an Excel workbook of one sheet, and a warning under it
    when some cells are longer than Excel allows (they are cut in the workbook)."""
    _button(where, label, lambda: to_excel(table, sheet_name=sheet_name), file_name, EXCEL_MIME)
    note = excel_cut_note(table)
    if note:
        where.caption(f":material/warning: {escape_markdown(note)}")


def _button(where, label: str, data, file_name: str, mime: str) -> None:
    where.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=mime,
        icon=":material/download:",
        on_click="ignore",
    )
