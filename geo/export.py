"""Table exports for spreadsheets: French CSV and Excel, safe against formula injection.

French conventions: ``;`` separator, decimal comma, UTF-8 with a BOM so that Excel detects the
encoding. Any text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) is
prefixed with an apostrophe so a spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

import io
import re

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (and so .xlsx) cannot hold: replaced by a space in Excel exports.
_CR = re.compile(r"\r\n?")  # a cell's line breaks are LF in a workbook
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralize_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy where text cells that a spreadsheet would evaluate are quoted."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v
            )
    out.columns = [
        "'" + c if isinstance(c, str) and c.startswith(FORMULA_PREFIXES) else c for c in out.columns
    ]
    return out


def to_csv_fr(df: pd.DataFrame) -> bytes:
    """CSV bytes with French conventions (``;``, decimal comma, UTF-8 BOM)."""
    # CRLF line ends make the csv module quote any cell holding a CR or LF, so a carriage
    # return inside a cell can never start a new row (whose first cell could be a formula).
    text = neutralize_formulas(df).to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
    return text.encode("utf-8-sig")


def to_excel(df: pd.DataFrame, *, sheet_name: str = "Données") -> bytes:
    """An .xlsx workbook holding the table (formulas neutralized, control characters replaced)."""
    table = neutralize_formulas(df)
    for col in table.columns:
        if table[col].dtype == object or pd.api.types.is_string_dtype(table[col]):
            table[col] = table[col].map(
                lambda v: _XML_ILLEGAL.sub(" ", _CR.sub("\n", v)) if isinstance(v, str) else v
            )
    buffer = io.BytesIO()
    # xlsxwriter writes 10 000 rows in about a second (openpyxl: about 15 s); strings are
    # written as text, never turned into formulas.
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as w:
        table.to_excel(w, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()


def read_csv_fr(data: bytes) -> pd.DataFrame:
    """Read back a file written by :func:`to_csv_fr` (used by tests and round trips)."""
    return pd.read_csv(io.BytesIO(data), sep=";", decimal=",", encoding="utf-8-sig")
