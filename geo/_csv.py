"""The records of a CSV text, read block by block: what :mod:`geo.tabular` builds tables from.

Private plumbing: :mod:`geo.checkstream` decides the limits and the words. The text is read from a
stream (never whole) in blocks that end at a line end, and each block gives a batch of rows
(a frame of text cells whose index is each record's line in the file):

* a *plain* block (no quote, no NUL, every line ended the same way) is split by vectorised
  string operations: its lines are its records, so splitting them by the separator is exactly
  what the ``csv`` module would do, at a fraction of the cost;
* from the first block that is not plain, the rest of the text is read by the ``csv`` module
  (quoted cells, line breaks inside cells, lone carriage returns), strictly first, leniently if
  only a quote is misplaced (``"a"b``), as spreadsheets read it.

Both give the same records: a blank line (fewer than two fields, only spaces) is skipped, a
short row is padded with empty cells, empty cells past the header are dropped, a value past the
header is an error (:class:`Malformed`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo._encoding import Encoding
from geo.errors import InputError
from geo.format import fr_int

SEPARATORS = (";", ",", "\t", "|")
_SCAN = 65_536  # characters read at a time while looking for the header line
_NOT_BLANK = re.compile(r"\S")
_LINE_END = re.compile(r"[\r\n]")
# What str.strip() removes: Python's whitespace, for the same answer from vectorised trims.
PY_SPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
CSV_ERRORS_FR = {
    "unexpected end of data": "guillemet ouvert jamais fermé",
    "new-line character seen in unquoted field": "retour à la ligne isolé",
    "field larger than field limit": "cellule trop longue",
}

Tick = Callable[[], None]


class Malformed(Exception):
    """The text does not split into rows of the header's width with this separator."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(why)
        self.line, self.why = line, why


class Text:
    """A file's decoded text, read from the start; one leading U+FEFF dropped if asked."""

    def __init__(self, open_binary: Callable[[], BinaryIO], encoding: Encoding) -> None:
        self._stream = io.TextIOWrapper(open_binary(), encoding=encoding.codec, newline="")
        self._strip = encoding.strip_bom

    def __enter__(self) -> Text:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.close()

    def read(self, size: int) -> str:
        """Up to ``size`` characters ("" at the end)."""
        text = self._stream.read(size)
        if self._strip:
            self._strip = False
            if text.startswith("\ufeff"):
                text = text[1:] or self._stream.read(size)
        return text

    def lines(self) -> Iterator[str]:
        """The physical lines (ended by CR, LF or CRLF, kept), as the ``csv`` module reads them."""
        for number, line in enumerate(self._stream):
            if number == 0 and self._strip:
                line = line.removeprefix("\ufeff")
            yield line

    def tell_bytes(self) -> int | None:
        """Bytes of the file read so far (buffered ahead of the text), if known."""
        try:
            return self._stream.buffer.tell()
        except (OSError, ValueError):
            return None


def header_line(text: Text, *, max_columns: int, max_header_chars: int, tick: Tick) -> str:
    """The first non-blank line, once its length and field count are known acceptable.

    Read in blocks: a header of any length is measured without being held (counting separators
    is linear and cheap; parsing or naming 300 000 columns is not).

    Raises
    ------
    InputError
        No data, more fields than ``max_columns`` by any separator, or a line longer than
        ``max_header_chars`` (French messages, in that order).
    """
    pending = ""  # the text after the last line end, before the first non-blank character
    while True:
        block = text.read(_SCAN)
        tick()
        if not block:
            raise InputError("Le fichier ne contient aucune donnée.")
        first = _NOT_BLANK.search(block)
        if first is not None:
            break
        cut = max(block.rfind("\n"), block.rfind("\r")) + 1
        pending = (pending + block if not cut else block[cut:])[-(max_header_chars + 1) :]
    start = max(block.rfind("\n", 0, first.start()), block.rfind("\r", 0, first.start())) + 1
    if start:
        pending = ""
    counts = dict.fromkeys(SEPARATORS, 0)
    length = 0
    kept = [pending]
    rest = block[start:]
    while True:
        end = _LINE_END.search(rest)
        piece = rest[: end.start()] if end else rest
        for sep in SEPARATORS:
            counts[sep] += piece.count(sep) + pending.count(sep)
        length += len(piece) + len(pending)
        pending = ""
        if length <= max_header_chars:
            kept.append(piece)
        if end:
            break
        rest = text.read(_SCAN)
        tick()
        if not rest:
            break
    fields = max(counts.values()) + 1
    if fields > max_columns:
        raise InputError(
            f"Le fichier a {fr_int(fields)} colonnes d'après son en-tête (sa première ligne) : "
            f"{fr_int(max_columns)} au plus."
        )
    if length > max_header_chars:
        raise InputError(
            f"L'en-tête du fichier (sa première ligne) fait {fr_int(length)} caractères : "
            f"{fr_int(max_header_chars)} au plus. Vérifiez que la première ligne "
            "contient bien les noms des colonnes."
        )
    return "".join(kept)


def separator_candidates(header: str) -> list[str]:
    """Separators to try, the one splitting the header line into most fields first.

    A header split into several fields settles the separator; a one-column header does not, so
    every separator is tried in turn.
    """

    def fields(sep: str) -> int:
        try:
            return len(next(csv.reader([header], delimiter=sep)))
        except (csv.Error, StopIteration):
            return 0

    ranked = sorted(SEPARATORS, key=lambda sep: -fields(sep))  # stable: ";" first on ties
    return ranked[:1] if fields(ranked[0]) > 1 else ranked


def record_too_long(line: int, max_chars: int) -> InputError:
    """The refusal of a record (CSV) longer than ``max_chars``."""
    return InputError(
        f"La ligne {fr_int(line)} du fichier fait plus de {fr_int(max_chars)} caractères : "
        f"{fr_int(max_chars)} au plus par ligne (un guillemet ouvert jamais fermé ?). Vérifiez "
        "le fichier."
    )


class Records:
    """The records of a CSV text with one separator, as batches of rows.

    Iterating yields frames of text cells (``str`` dtype) with integer column labels
    ``0 .. width - 1`` and each record's first line (from 1) as index; the header is the first
    non-blank record, in :attr:`header` once read (never in a batch). A batch holds about
    ``block_chars`` characters of the file.

    Raises (while iterating)
    ------------------------
    Malformed
        A value past the header's width, or a quote never closed.
    InputError
        No data at all, or a record longer than ``max_record_chars``.
    """

    def __init__(
        self,
        open_text: Callable[[], Text],
        sep: str,
        *,
        tick: Tick,
        block_chars: int,
        max_record_chars: int | None,
    ) -> None:
        self._open_text = open_text
        self.sep = sep
        self._tick = tick
        self._block_chars = block_chars
        self._max_record = max_record_chars
        self.header: list[str] | None = None
        self.width = 0
        self.bytes_read = 0  # how far into the file the batches given so far reach

    def __iter__(self) -> Iterator[pd.DataFrame]:
        self.header, self.width, self.bytes_read = None, 0, 0
        line = 1  # the next physical line
        with self._open_text() as text:
            for block in self._blocks(text, lambda: line):  # noqa: B023 (the current line, late)
                lines = _plain_lines(block)
                if lines is None:
                    break
                batch = self._plain_batch(lines, line)
                line += len(lines)
                self.bytes_read = text.tell_bytes() or self.bytes_read
                if batch is not None:
                    yield batch
            else:
                if self.header is None:
                    raise InputError("Le fichier ne contient aucune donnée.")
                return
        # The rest of the text, from the line where the last plain block ended.
        yield from self._csv_batches(line)

    # -- blocks ---------------------------------------------------------------------------------
    def _blocks(self, text: Text, next_line: Callable[[], int]) -> Iterator[str]:
        """Blocks of whole lines (a CRLF never split), about ``block_chars`` long."""
        carry = ""
        while True:
            chunk = text.read(self._block_chars)
            self._tick()
            if not chunk:
                if carry:
                    yield carry
                return
            data = carry + chunk
            cut = data.rfind("\n") + 1 or data.rfind("\r", 0, len(data) - 1) + 1
            if not cut:
                carry = data
                if self._max_record is not None and len(carry) > self._max_record:
                    raise record_too_long(next_line(), self._max_record)
                continue
            carry = data[cut:]
            yield data[:cut]

    # -- plain blocks ---------------------------------------------------------------------------
    def _plain_batch(self, lines: pa.Array, first: int) -> pd.DataFrame | None:
        """The rows of a plain block's lines (``first``: the first line's number)."""
        numbers = np.arange(first, first + len(lines), dtype=np.int64)
        if self._max_record is not None and len(lines):
            long = np.flatnonzero(pc.utf8_length(lines).to_numpy() > self._max_record)
            if long.size:
                raise record_too_long(int(numbers[long[0]]), self._max_record)
        if self.header is None:
            start = self._find_header(lines, numbers)
            if start is None:
                return None
            lines, numbers = lines.slice(start), numbers[start:]
        if not len(lines):
            return None
        sep, width = self.sep, self.width
        parts = pc.split_pattern(lines, sep)
        counts = pc.list_value_length(parts).to_numpy()
        regular = counts == width
        if width == 1:  # a one-field record of spaces is a blank line
            regular &= pc.not_equal(pc.utf8_trim(lines, PY_SPACE), "").to_numpy(
                zero_copy_only=False
            )
        columns = _split_columns(parts.filter(pa.array(regular)), width)
        index = pd.Index(numbers[regular])
        frame = pd.DataFrame(
            {j: pd.Series(col, dtype="str", index=index) for j, col in enumerate(columns)},
            index=index,
        )
        odd = np.flatnonzero(~regular)
        if not odd.size:
            return frame
        rows, kept = [], []
        for k, text in zip(odd, lines.take(pa.array(odd)).to_pylist(), strict=True):
            record = self._fit(text.split(sep), int(numbers[k]))
            if record is not None:
                rows.append(record)
                kept.append(int(numbers[k]))
        if not rows:
            return frame
        extra = pd.DataFrame(rows, index=pd.Index(kept), dtype=object).astype(str)
        return pd.concat([frame, extra]).sort_index(kind="stable")

    def _find_header(self, lines: pa.Array, numbers: np.ndarray) -> int | None:
        """Index of the first line after the header (set from the first non-blank line)."""
        for k, text in enumerate(lines.to_pylist()):
            record = text.split(self.sep)
            if len(record) < 2 and not "".join(record).strip():
                continue
            self.header, self.width = record, len(record)
            return k + 1
        return None

    def _fit(self, record: list[str], line: int) -> list[str] | None:
        """A record of the header's width (padded or cut), None for a blank line."""
        width = self.width
        if len(record) < 2 and not "".join(record).strip():
            return None  # a blank line (a row of empty cells is a row)
        if len(record) > width:
            if any(cell.strip() for cell in record[width:]):
                raise Malformed(
                    line, f"{fr_int(len(record))} valeurs pour {fr_int(width)} colonnes"
                )
            return record[:width]
        if len(record) < width:
            return record + [""] * (width - len(record))
        return record

    # -- the csv module -------------------------------------------------------------------------
    def _csv_batches(self, first: int) -> Iterator[pd.DataFrame]:
        """Batches read by the ``csv`` module from line ``first`` to the end."""
        done = 0  # records of this part already given in batches
        strict = True
        header, width = self.header, self.width
        while True:
            self.header, self.width = header, width
            try:
                yield from self._csv_part(first, strict=strict, skip=done, given=_Count(done))
                return
            except _Lenient as retry:
                strict, done = False, retry.done

    def _csv_part(
        self, first: int, *, strict: bool, skip: int, given: _Count
    ) -> Iterator[pd.DataFrame]:
        # A cell may be as long as the file (its size, or the record limit, bounds it).
        csv.field_size_limit(max(csv.field_size_limit(), self._max_record or 2**31 - 1))
        with self._open_text() as text:
            lines = text.lines()
            for _ in range(first - 1):
                next(lines, None)
            source = _Lines(lines, self._max_record)
            reader = csv.reader(source, delimiter=self.sep, strict=strict)
            rows: list[list[str]] = []
            numbers: list[int] = []
            chars = 0
            line = first
            count = 0
            try:
                for record in reader:
                    count += 1
                    start, line = line, first + reader.line_num
                    if count <= skip:
                        source.chars = 0
                        continue
                    chars += source.chars
                    source.chars = 0
                    if count % 1024 == 0:
                        self._tick()
                    if self.header is None:
                        if len(record) < 2 and not "".join(record).strip():
                            continue
                        self.header, self.width = record, len(record)
                        continue
                    fitted = self._fit(record, start)
                    if fitted is None:
                        continue
                    rows.append(fitted)
                    numbers.append(start)
                    if chars >= self._block_chars:
                        self.bytes_read = text.tell_bytes() or self.bytes_read
                        yield _frame(rows, numbers, self.width)
                        given.value = count
                        rows, numbers, chars = [], [], 0
            except _TooLong:
                raise record_too_long(line, self._max_record or 0) from None
            except csv.Error as exc:
                if strict and "unexpected end of data" not in str(exc):
                    raise _Lenient(given.value) from None
                why = next(
                    (fr for en, fr in CSV_ERRORS_FR.items() if en in str(exc)),
                    "guillemets mal placés",
                )
                raise Malformed(line, why) from None
            self._tick()
            if self.header is None:  # only empty cells, such as a lone "" : nothing names a column
                raise InputError("Le fichier ne contient aucune donnée.")
            self.bytes_read = text.tell_bytes() or self.bytes_read
            if rows:
                yield _frame(rows, numbers, self.width)


class _Count:
    def __init__(self, value: int) -> None:
        self.value = value


class _Lenient(Exception):
    """Read again leniently, past the ``done`` records already given."""

    def __init__(self, done: int) -> None:
        super().__init__(done)
        self.done = done


class _TooLong(Exception):
    """The record being read is longer than allowed."""


class _Lines:
    """Lines handed to the ``csv`` module, counting the characters of the current record.

    The count is reset by the reader of the records; past ``limit`` the reading stops before
    the record is whole (a quote never closed would otherwise take in the rest of the file).
    """

    def __init__(self, lines: Iterator[str], limit: int | None) -> None:
        self._lines = lines
        self._limit = limit
        self.chars = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.chars += len(line)
        if self._limit is not None and self.chars > self._limit:
            raise _TooLong
        return line


def _plain_lines(block: str) -> pa.Array | None:
    """The lines of a plain block (without their ends), or None if the block is not plain."""
    if '"' in block or "\x00" in block:
        return None
    if "\r" in block:
        crlf = block.count("\r\n")
        if block.count("\r") != crlf or block.count("\n") != crlf:
            return None
        eol = "\r\n"
    else:
        eol = "\n"
    lines = pc.split_pattern(pa.array([block], pa.large_string()), eol).flatten()
    return lines.slice(0, len(lines) - 1) if block.endswith(eol) else lines


def _split_columns(parts: pa.Array, width: int) -> list[pa.Array]:
    """Columns of records that all have ``width`` fields."""
    values = parts.flatten()
    n = len(parts)
    return [values.take(pa.array(np.arange(j, n * width, width))) for j in range(width)]


def _frame(rows: list[list[str]], numbers: list[int], width: int) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=range(width), index=pd.Index(numbers, dtype=np.int64), dtype=object
    ).astype(str)
