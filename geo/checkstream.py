"""``python -m geo check`` on a CSV file of any size: read, checked and written chunk by chunk.

The page reads a whole (small) file with :func:`geo.tabular.load_table`; the command line has
no row or size limit, so it never holds the file: the text is read in blocks of whole records
(:class:`geo._csv.Records`), each batch of rows goes through :func:`geo.checkfile.check_table`
and is appended to a temporary file beside the output, renamed over it at the end
(:func:`geo.files.atomic_output`). Memory stays bounded by one batch, the rows keep the input's
order, and every limit that protects against a hostile file still holds before any work: the
encoding is decided on every byte, the header's length and column count are capped, a record
longer than :data:`MAX_RECORD_CHARS` is refused, formulas are neutralised in the output.
"""

from __future__ import annotations

import concurrent.futures
import csv
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from geo._csv import Malformed, Records, Text, header_line, separator_candidates
from geo._encoding import BINARY, check_text, detect
from geo.checkfile import check_table, summary_lines
from geo.errors import InputError, os_reason_fr
from geo.export import to_csv_fr
from geo.files import atomic_output
from geo.locate import Locator
from geo.tabular import (
    LINE,
    MAX_COLUMNS,
    MAX_HEADER_CHARS,
    SEPARATOR_NAMES,
    malformed_csv,
    unique_names,
)
from geo.verdict import STATUS_ORDER

MAX_RECORD_CHARS = 1_048_576  # one record (line) of the file: far past any real row
# Characters of the file per batch (~40 000 short rows): small enough that writing batch N
# (in a thread, mostly Arrow without the GIL) runs beside the check of batch N + 1 from the
# start, and that memory stays low; large enough that the cost per batch is not felt.
BLOCK_CHARS = 1_048_576
ADDRESS_PARALLEL = 4  # bulk geocoding requests in flight at once
_READ_BYTES = 1_048_576
_BINARY_MAGIC = (b"PK\x03\x04", b"%PDF", b"\x89PNG", b"\xd0\xcf\x11\xe0")

Progress = Callable[[int, int, int], None]
"""``progress(rows_done, bytes_read, total_bytes)`` after each batch."""


@dataclass
class StreamResult:
    """What a streamed check did: rows, counts per generation and status, notes, seconds."""

    total: int = 0
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    source: str = ""
    seconds: float = 0.0

    def summary_lines(self) -> list[str]:
        """One French line per generation: ``Périmètres 2024 (en vigueur) : 3 dans, ...``."""
        return summary_lines(self.counts)


def check_csv_file(
    source: Path,
    output: Path,
    locator: Callable[[], Locator],
    *,
    settings: Callable[[list[str]], dict],
    progress: Progress | None = None,
    notes: Callable[[str], None] | None = None,
    block_chars: int = BLOCK_CHARS,
) -> StreamResult:
    """Check every row of the CSV ``source`` and write the annotated rows to ``output``.

    Parameters
    ----------
    locator : callable
        Gives the :class:`~geo.locate.Locator`; called once the file's header and columns are
        known acceptable (building it costs more than refusing a hostile file).
    settings : callable
        Given the column names, the :func:`geo.checkfile.check_table` arguments (columns of
        coordinates or addresses); raises :class:`InputError` when none fits.
    progress : callable, optional
        See :data:`Progress`.
    notes : callable, optional
        Called with each French note on the reading (renamed columns), before any check.

    Raises
    ------
    InputError
        Unreadable, binary, mixed encodings, header over its caps, a record too long, a
        malformed row (French message); ``output`` is then left as it was.
    GeocoderError
        The address service failed as a whole.
    """
    started = time.perf_counter()
    total_bytes = _size(source)

    def open_binary() -> BinaryIO:
        try:
            return source.open("rb")
        except OSError as exc:
            raise InputError(f"Lecture impossible de {source} ({os_reason_fr(exc)}).") from None

    def blocks() -> Iterator[bytes]:
        with open_binary() as file:
            while block := file.read(_READ_BYTES):
                yield block

    with open_binary() as file:
        start = file.read(8)
    if not start:
        raise InputError("Le fichier est vide.")
    if start.startswith(_BINARY_MAGIC):
        raise InputError(BINARY)
    encoding = detect(blocks)
    with Text(open_binary, encoding) as text:
        check_text(text.read(65_536))
    with Text(open_binary, encoding) as text:
        header = header_line(
            text, max_columns=MAX_COLUMNS, max_header_chars=MAX_HEADER_CHARS, tick=_no_tick
        )
    result = StreamResult()
    candidates = separator_candidates(header)
    fields = next(csv.reader([header], delimiter=candidates[0]))
    chosen = _settings(fields, settings, notes, result)
    # The locator is built while the first batch is read (both mostly in C).
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        building = pool.submit(locator)
        failures: list[tuple[str, Malformed]] = []
        for sep in candidates:
            records = Records(
                lambda: Text(open_binary, encoding),
                sep,
                tick=_no_tick,
                block_chars=block_chars,
                max_record_chars=MAX_RECORD_CHARS,
            )
            batches = iter(records)
            try:
                first = next(batches, None)
            except Malformed as exc:
                failures.append((sep, exc))
                continue
            if records.header is None or first is None:
                raise InputError(
                    "Le fichier ne contient aucune ligne de données (seulement un en-tête)."
                )
            if records.header != fields:  # a header cell holding a line break: named again
                result.notes.clear()
                chosen = _settings(records.header, settings, notes, result)
            result.source = f"CSV séparé par {SEPARATOR_NAMES[sep]}, encodage {encoding.label}"
            try:
                _write(records, first, batches, output, building.result(), chosen, pool,
                       progress, result, total_bytes)  # fmt: skip
            except Malformed as exc:
                raise malformed_csv(sep, exc) from None
            result.seconds = time.perf_counter() - started
            return result
    raise malformed_csv(*failures[0])


def _settings(header, settings, notes, result) -> dict:
    """The column names (unique) and the check_table arguments chosen from them."""
    names, renamed = unique_names(header, list(range(len(header))))
    for note in renamed:
        result.notes.append(note)
        if notes:
            notes(note)
    chosen = {**settings(names), "names": names}
    if "address_columns" in chosen:  # a chunk the service fails is « non localisée », not lost
        chosen.update(parallel=ADDRESS_PARALLEL, failed_chunks="rows")
    return chosen


def _write(records, first, batches, output, point_locator, chosen, pool, progress, result, size):
    """Check the batches in order, appending each to the output (atomic as a whole).

    Batch N is written as CSV in ``pool`` while batch N + 1 is checked: two batches at most
    are held at once.
    """
    names = chosen.pop("names")
    with atomic_output(output) as out:
        writing = None
        batch = first
        while batch is not None:
            batch.columns = names
            batch.index.name = LINE
            checked = check_table(batch, point_locator, **chosen)
            if writing is not None:
                out.write(writing.result())
            writing = pool.submit(to_csv_fr, checked.rows, header=result.total == 0)
            result.total += checked.total
            for g, counts in checked.counts.items():
                into = result.counts.setdefault(g, dict.fromkeys(STATUS_ORDER, 0))
                for status, n in counts.items():
                    into[status] += n
            if progress:
                progress(result.total, records.bytes_read, size)
            batch = next(batches, None)
        if writing is not None:
            out.write(writing.result())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise InputError(f"Lecture impossible de {path} ({os_reason_fr(exc)}).") from None


def _no_tick() -> None:
    """No reading budget on the command line: the user waits for their own file."""
