"""Table exports for spreadsheets: French CSV and Excel, safe against formula injection.

French conventions: ``;`` separator, decimal comma, UTF-8 with a BOM so that Excel detects the
encoding. Any text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) is
prefixed with an apostrophe so a spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

import io

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
    text = neutralize_formulas(df).to_csv(index=False, sep=";", decimal=",")
    return text.encode("utf-8-sig")


def to_excel(df: pd.DataFrame, *, sheet_name: str = "Données") -> bytes:
    """An .xlsx workbook holding the table (formulas neutralized)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        neutralize_formulas(df).to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()


def read_csv_fr(data: bytes) -> pd.DataFrame:
    """Read back a file written by :func:`to_csv_fr` (used by tests and round trips)."""
    return pd.read_csv(io.BytesIO(data), sep=";", decimal=",", encoding="utf-8-sig")
