"""Table exports for spreadsheets: French CSV and Excel, safe against formula injection.

French conventions: ``;`` separator, decimal comma, UTF-8 with a BOM so that Excel detects the
encoding. Any text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) is
prefixed with an apostrophe so a spreadsheet shows it as text instead of running it.

An Excel cell holds at most 32 767 characters: longer texts are cut in the workbook (ending in
« … »), and :func:`excel_cut_note` says so, for the page or the command line to tell the user;
the CSV keeps them whole.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.format import fr_int

EXCEL_MAX_CHARS = 32_767  # characters one Excel cell can hold
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTES = re.compile('[;"\r\n]')  # what makes the csv module quote a cell
_FORMULA_START = re.compile("[" + re.escape("".join(FORMULA_PREFIXES)) + "]")
# Characters XML 1.0 (and so .xlsx) cannot hold: replaced by a space in Excel exports.
_CR = re.compile(r"\r\n?")  # a cell's line breaks are LF in a workbook
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralize_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy where text cells that a spreadsheet would evaluate are quoted.

    Column by column (text columns only), with vectorised string tests: no per-cell Python.
    """
    out = df.copy(deep=False)
    for position in range(out.shape[1]):
        values = out.iloc[:, position]
        if not _is_text(values):
            continue
        # Non-text cells of an object column give NaN: never quoted.
        risky = values.str.match(_FORMULA_START, na=False).to_numpy(dtype=bool)
        if risky.any():
            quoted = values.to_numpy(dtype=object, copy=True)
            quoted[risky] = ["'" + text for text in quoted[risky]]
            out.isetitem(position, pd.Series(quoted, dtype=values.dtype).array)
    out.columns = [_neutral(c) for c in out.columns]
    return out


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or pd.api.types.is_string_dtype(values)


def _neutral(value):
    """A text a spreadsheet would evaluate, quoted; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv_fr(df: pd.DataFrame, *, header: bool = True) -> bytes:
    """CSV bytes with French conventions (``;``, decimal comma, UTF-8 BOM).

    ``header=False``: the rows only, without BOM (a further chunk of the same file). Written
    column by column in C (Arrow), quoted as the ``csv`` module quotes (a cell holding ``;``,
    ``"``, CR or LF), missing values as empty cells, rows ended by CRLF.
    """
    out = b""
    if header:
        names = [_quoted_scalar(str(_neutral(c))) for c in df.columns]
        out = (_csv_line(names) + "\r\n").encode("utf-8-sig")
    if not len(df) or not df.shape[1]:
        return out
    columns = [_csv_column(df.iloc[:, j]) for j in range(df.shape[1])]
    rows = pc.binary_join_element_wise(*columns, _large(";"))
    if len(columns) == 1:  # a lone empty cell is quoted, or the row would read as blank
        rows = pc.if_else(pc.equal(rows, ""), _large('""'), rows)
    rows = pc.binary_join_element_wise(rows, _large("\r\n"), _large(""))
    return out + _utf8_bytes(rows)


def _large(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _utf8_bytes(texts: pa.Array) -> bytes:
    """The texts of an Arrow array one after the other (its data buffer, no copy to Python)."""
    texts = pa.concat_arrays([texts])  # offsets from this array's start
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)
    first, last = offsets[texts.offset], offsets[texts.offset + len(texts)]
    return texts.buffers()[2].to_pybytes()[first:last]


def _csv_line(cells: list[str]) -> str:
    return ";".join(cells) if len(cells) != 1 or cells[0] else '""'


def _quoted_scalar(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text


def _csv_column(values: pd.Series) -> pa.Array:
    """A column's cells as the CSV writes them: floats with a decimal comma, texts that a
    spreadsheet would evaluate quoted with an apostrophe, missing values empty, each cell
    quoted as the ``csv`` module quotes it."""
    if values.dtype.kind == "f":
        return _quoted(_float_texts(values.to_numpy(dtype=float, na_value=np.nan)))
    if values.dtype.kind in "iub":  # NumPy or nullable (Int64, boolean): str(), NA empty
        data = values.to_numpy(dtype=object)
        missing = pd.isna(data)
        data[~missing] = data[~missing].astype(str)
        data[missing] = None
        return _quoted(pc.fill_null(pa.array(data, pa.large_string()), ""))
    array = _text_array(values)
    if array is None:  # texts mixed with numbers: str() of those
        mixed = np.array([_neutral(v) for v in values.to_numpy(dtype=object)], dtype=object)
        missing = pd.isna(mixed)
        mixed[~missing] = mixed[~missing].astype(str)
        mixed[missing] = None
        return _quoted(pc.fill_null(pa.array(mixed, pa.large_string()), ""))
    # A column of few distinct texts (statuses, codes, names, remarks) is written from its
    # distinct values: neutralised and quoted once each, then taken for every row.
    # (A first look at a few rows spares encoding a column of distinct values, such as ids.)
    sample = array.slice(0, 1_000)
    if 2 * len(pc.unique(sample)) <= len(sample):
        encoded = pc.dictionary_encode(array)
        if 2 * len(encoded.dictionary) <= len(array):
            cells = _quoted(_unevaluated(encoded.dictionary))
            return pc.fill_null(pc.take(cells, encoded.indices), "")
    return _quoted(pc.fill_null(_unevaluated(array), ""))


def _text_array(values: pd.Series) -> pa.Array | None:
    """A text column as an Arrow array (missing values null), or None if it holds non-texts.

    A pandas string column is already Arrow (or converts in C): never through Python objects.
    """
    if isinstance(values.dtype, pd.StringDtype):
        array = pa.array(values.array)
    else:
        try:
            array = pa.array(values.to_numpy(dtype=object), pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.large_string())


def _unevaluated(texts: pa.Array) -> pa.Array:
    """Texts that a spreadsheet would evaluate, quoted with an apostrophe."""
    risky = pc.match_substring_regex(texts, "^" + _FORMULA_START.pattern)
    if not pc.any(risky).as_py():
        return texts
    return pc.if_else(risky, pc.binary_join_element_wise(_large("'"), texts, _large("")), texts)


def _quoted(text: pa.Array) -> pa.Array:
    """Cells quoted where the ``csv`` module quotes them (doubling the quotes inside)."""
    data = _utf8_bytes(text)
    if not any(char in data for char in (b";", b'"', b"\r", b"\n")):
        return text  # one look at the column's bytes settles most columns
    needs = pc.match_substring_regex(text, _NEEDS_QUOTES.pattern)
    escaped = pc.binary_join_element_wise(
        _large('"'), pc.replace_substring(text, '"', '""'), _large('"'), _large("")
    )
    return pc.if_else(needs, escaped, text)


def _float_texts(numbers: np.ndarray) -> pa.Array:
    """Python's ``repr`` of each float with a decimal comma, NaN as an empty cell.

    Arrow formats a column in C with the same shortest round trip as ``repr``; only its
    spelling differs for whole numbers (``1`` for ``1.0``) and outside [1e-4, 1e16) (no
    exponent) or where arrow writes an exponent: the few values left to numpy. NaN is null
    until the end (an empty cell), so a column of missing values costs nothing.
    """
    missing = np.isnan(numbers)
    size = np.abs(numbers)
    text = pc.cast(pa.array(numbers, mask=missing), pa.large_string())
    exponent = pc.fill_null(pc.match_substring(text, "e"), False).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        odd = ((size < 1e-4) & (size > 0)) | (size >= 1e16) | np.isinf(numbers) | exponent
    whole = pc.invert(pc.match_substring(text, "."))
    if pc.any(whole).as_py():
        text = pc.if_else(whole, pc.binary_join_element_wise(text, _large(".0"), _large("")), text)
    text = pc.replace_substring(text, ".", ",")
    if odd.any():
        out = text.to_numpy(zero_copy_only=False).astype(object)
        out[odd] = np.char.replace(numbers[odd].astype(str), ".", ",").astype(object)
        text = pa.array(out, pa.large_string())
    return pc.fill_null(text, "")


def to_excel(df: pd.DataFrame, *, sheet_name: str = "Données") -> bytes:
    """An .xlsx workbook holding the table (formulas neutralized, control characters replaced,
    texts longer than an Excel cell cut and ending in « … »: see :func:`excel_cut_note`)."""
    table = neutralize_formulas(df)
    for col in table.columns:
        if _is_text(table[col]):
            table[col] = table[col].map(lambda v: _cut(_excel_text(v)) if isinstance(v, str) else v)
    buffer = io.BytesIO()
    # xlsxwriter writes 10 000 rows in about a second (openpyxl: about 15 s); strings are
    # written as text, never turned into formulas.
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as w:
        table.to_excel(w, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()


def _excel_text(text: str) -> str:
    """What a workbook can hold of a text: LF line breaks, no XML-illegal character."""
    return _XML_ILLEGAL.sub(" ", _CR.sub("\n", text))


def _cut(text: str) -> str:
    if len(text) <= EXCEL_MAX_CHARS:
        return text
    return text[: EXCEL_MAX_CHARS - 1] + "…"


def excel_cut_note(df: pd.DataFrame) -> str | None:
    """French note on the cells :func:`to_excel` cuts (longer than an Excel cell), or None.

    Rows are named as in the workbook (the header is row 1), columns by their name.
    """
    cut: dict[str, list[int]] = {}
    for position, col in enumerate(df.columns):
        values = df.iloc[:, position]
        if not _is_text(values):
            continue
        # A cheap bound first (quoting adds one character), then the exact length as to_excel
        # writes it, for the few long cells.
        near = (values.str.len().fillna(0).to_numpy() >= EXCEL_MAX_CHARS).nonzero()[0]
        rows = [r for r in near if len(_excel_text(_neutral(values.iloc[r]))) > EXCEL_MAX_CHARS]
        if rows:
            cut[str(col)] = [int(r) + 2 for r in rows]
    if not cut:
        return None
    total = sum(len(rows) for rows in cut.values())
    where = " ; ".join(
        f"colonne « {col} », ligne{'s' if len(rows) > 1 else ''} "
        + ", ".join(fr_int(r) for r in rows[:5])
        + (" et d'autres" if len(rows) > 5 else "")
        for col, rows in cut.items()
    )
    many = total > 1
    return (
        f"{fr_int(total)} cellule{'s' if many else ''} dépasse{'nt' if many else ''} "
        f"{fr_int(EXCEL_MAX_CHARS)} caractères, le maximum d'une cellule Excel : dans le fichier "
        f"Excel, {'elles sont coupées' if many else 'elle est coupée'} et "
        f"{'se terminent' if many else 'se termine'} par « … » (dans le classeur : {where}). "
        f"Le fichier CSV "
        f"{'les' if many else 'la'} garde entière{'s' if many else ''}."
    )


def read_csv_fr(data: bytes) -> pd.DataFrame:
    """Read back a file written by :func:`to_csv_fr` (used by tests and round trips)."""
    return pd.read_csv(io.BytesIO(data), sep=";", decimal=",", encoding="utf-8-sig")
