"""Read a user's table (CSV or Excel) safely, and find its address or coordinate columns.

Everything happens in memory: the uploaded bytes are never written to disk. Every limit
(:class:`Limits`: bytes, rows, columns, cells, header length, inflated size, seconds) is checked
before or while the file is read, never after a table has been built from it; any unusable file
raises :class:`~geo.errors.InputError` with a French message naming the limit, and nothing else
happens. What the reading did that the user should know (the encoding, renamed duplicate
columns, formulas without a value) is said in :attr:`UserTable.source` and
:attr:`UserTable.notes`.

Each row keeps the line it came from in the user's file (CSV: the line where its record starts,
blank lines counted; Excel: the sheet's row number), as the frame's index named :data:`LINE`.
"""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata
from dataclasses import dataclass

import pandas as pd

from geo._csv import CSV_ERRORS_FR, SEPARATORS, Malformed, separator_candidates
from geo._encoding import BINARY, decode
from geo._xlsx import Workbook, column_letters
from geo.errors import InputError
from geo.format import fr_int, fr_number

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 20_000  # 200 columns of 100 characters
# Cells holding a value (CSV: rows x columns): 10 000 rows of 50 columns. Reading an .xlsx of
# that many cells takes about 2 s of the server's CPU, the most one upload may cost.
MAX_CELLS = 500_000
MAX_UNPACKED = 100 * 1024 * 1024  # bytes an .xlsx may inflate to, all parts together
MAX_SECONDS = 5.0  # CPU seconds spent reading one file
SEPARATOR_NAMES = {";": "« ; »", ",": "« , »", "\t": "tabulation", "|": "« | »"}
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
LINE = "ligne"
"""Name of the index of a table read here: each row's line in the user's file."""

_BINARY_MAGIC = (b"PK\x03\x04", b"%PDF", b"\x89PNG", b"\xd0\xcf\x11\xe0")
_SHOWN = 5  # names, lines... quoted in one message


@dataclass(frozen=True)
class Limits:
    """What a file may hold before it is refused (stated on the page).

    ``max_rows`` counts data rows (the header excluded); None: no row limit, the other limits
    still bound the work. ``max_cells`` counts the cells of the table (Excel: those holding a
    value). ``max_unpacked`` is the size an .xlsx may inflate to; ``max_seconds`` bounds the
    reading itself.
    """

    max_bytes: int = MAX_BYTES
    max_rows: int | None = MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_header_chars: int = MAX_HEADER_CHARS
    max_cells: int = MAX_CELLS
    max_unpacked: int = MAX_UNPACKED
    max_seconds: float = MAX_SECONDS

    def describe(self) -> str:
        """The limits in French, for the page."""
        size = f"{fr_size(self.max_bytes)} au plus"
        if self.max_rows is None:
            return size
        return f"{fr_int(self.max_rows)} lignes et {size}"


UPLOAD_LIMITS = Limits()
"""The limits of the file page (``/fichier``)."""
COMMAND_LINE_LIMITS = Limits()
"""The limits of ``python -m geo check``."""


@dataclass(frozen=True)
class UserTable:
    """A user's table as read: text cells indexed by :data:`LINE`, and what the reading did.

    Attributes
    ----------
    frame : pandas.DataFrame
        One column per column of the file (unique, non-empty names), text cells.
    source : str
        How the file was read, in French: « CSV séparé par « ; », encodage UTF-8 ».
    notes : tuple of str
        French sentences the user should read: renamed duplicate columns, formulas read empty.
    """

    frame: pd.DataFrame
    source: str
    notes: tuple[str, ...] = ()


def fr_size(n_bytes: int) -> str:
    """A size in Mo (1 Mo = 1 048 576 octets), as the limits are stated: ``5 Mo``, ``7,3 Mo``."""
    mo = round(n_bytes / 2**20, 1)
    return f"{fr_number(mo, 0 if mo == int(mo) else 1)} Mo"


def load_table(data: bytes, filename: str, *, limits: Limits) -> UserTable:
    """Parse an uploaded CSV or Excel file into a table of text cells, within ``limits``.

    CSV files may be ``;``, ``,``, tab or ``|`` separated, in UTF-8 (with or without BOM),
    UTF-16 (with BOM), Windows-1252, ISO-8859-15 or MacRoman. Excel files must be .xlsx (first
    sheet). The first row holding a value is the header; blank rows are skipped.

    Raises
    ------
    InputError
        Empty, over a limit, binary, undecodable or mixing encodings, malformed, damaged
        workbook, no column or no row (French message).
    """
    name = (filename or "").lower()
    if not data:
        raise InputError("Le fichier est vide.")
    check_size(len(data), limits.max_bytes)
    clock = _Clock(limits.max_seconds)
    if name.endswith(EXCEL_SUFFIXES):
        read = _read_excel(data, limits, clock)
    elif name.endswith(".xls"):
        raise InputError(
            "Le format Excel 97-2003 (.xls) n'est pas pris en charge : enregistrez le fichier "
            "au format .xlsx ou .csv."
        )
    elif name.endswith(TEXT_SUFFIXES) or "." not in name:
        read = _read_csv(data, limits, clock)
    else:
        raise InputError(
            f"Type de fichier non pris en charge ({filename!r}) : envoyez un fichier .csv ou .xlsx."
        )
    return read.table()


def read_table(data: bytes, filename: str, *, limits: Limits = UPLOAD_LIMITS) -> pd.DataFrame:
    """The frame of :func:`load_table` (tests and scripts that need only the cells)."""
    return load_table(data, filename, limits=limits).frame


def check_size(size: int, limit: int) -> None:
    """Refuse a file of ``size`` bytes over ``limit`` (before reading it, when possible).

    Raises
    ------
    InputError
        The size and the limit in French; just over the limit, both in bytes, as « 5,0 Mo :
        la limite est de 5 Mo » would read as a contradiction.
    """
    if size <= limit:
        return
    if size < 1.1 * limit:
        weight = (
            f"{fr_int(size)} octets : la limite est de {fr_size(limit)} ({fr_int(limit)} octets)"
        )
    else:
        weight = f"{fr_size(size)} : la limite est de {fr_size(limit)}"
    raise InputError(f"Le fichier pèse {weight}. Découpez-le en plusieurs fichiers.")


class _Clock:
    """The reading's time budget: :meth:`tick` raises once it is spent.

    Counted in CPU seconds of the reading thread: the work a file costs, the same on a busy
    server, where waiting for the processor would otherwise refuse an ordinary file.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.thread_time() + seconds

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise InputError(
                f"La lecture du fichier a dépassé {fr_number(self.seconds, 0)} secondes, la "
                "limite : il est trop grand ou trop complexe. Découpez-le en plusieurs fichiers, "
                "ou enregistrez-le au format CSV."
            )


@dataclass
class _Read:
    """Rows of a file as read, before they become a frame."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    source: str
    notes: list[str]

    def table(self) -> UserTable:
        if not self.rows:
            raise InputError(
                "Le fichier ne contient aucune ligne de données (seulement un en-tête)."
            )
        keep = _kept_columns(self.header, self.rows)
        names, renamed = unique_names(self.header, keep)
        frame = pd.DataFrame(
            [[row[i] for i in keep] for row in self.rows]
            if len(keep) < len(self.header)
            else self.rows,
            columns=names,
            index=pd.Index(self.lines, name=LINE),
            dtype=object,
        ).astype(str)
        return UserTable(frame, self.source, tuple(self.notes + renamed))


def _kept_columns(header: list[str], rows: list[list[str]]) -> list[int]:
    """Columns to keep: all but those without a name and without any value."""
    keep = []
    for i, name in enumerate(header):
        if name.strip() or any(row[i].strip() for row in rows):
            keep.append(i)
    if not keep:
        raise InputError("Le fichier ne contient aucune colonne.")
    return keep


def unique_names(header: list[str], keep: list[int]) -> tuple[list[str], list[str]]:
    """Column names, unique, in one pass; and the French note on the duplicates renamed.

    ``keep``: the positions of the header's fields to name (those of the table).

    A blank name becomes « colonne N » (N: its position in the file); the second « lat »
    becomes « lat (2) », the third « lat (3) » (skipping any name already taken).
    """
    bases = [header[i].strip() or f"colonne {i + 1}" for i in keep]
    taken = set(bases)
    seen: dict[str, int] = {}
    names = []
    renamed: dict[str, list[str]] = {}
    for base in bases:
        count = seen[base] = seen.get(base, 0) + 1
        name = base
        if count > 1:
            name = f"{base} ({count})"
            while name in taken:
                count += 1
                name = f"{base} ({count})"
            seen[base] = count
            taken.add(name)
            renamed.setdefault(base, [base]).append(name)
        names.append(name)
    if not renamed:
        return names, []
    listed = [
        f"« {base} » ({', '.join(f'« {n} »' for n in news)})"
        for base, news in list(renamed.items())[:_SHOWN]
    ]
    more = f" et {fr_int(len(renamed) - _SHOWN)} autres" if len(renamed) > _SHOWN else ""
    return names, [
        "Plusieurs colonnes portent le même nom : elles sont renommées pour rester "
        f"distinctes, dans l'ordre du fichier : {', '.join(listed)}{more}."
    ]


# --------------------------------------------------------------------------------------------
# Limits shared by CSV and Excel


def _too_many_columns(count: int, limits: Limits, where: str = "") -> InputError:
    return InputError(
        f"Le fichier a {fr_int(count)} colonnes{where} : {fr_int(limits.max_columns)} au plus."
    )


def _check_rows(rows: int, cells: int, limits: Limits) -> None:
    """Refuse as soon as the rows (or cells) read so far exceed the row or the cell limit."""
    if limits.max_rows is not None and rows > limits.max_rows:
        raise InputError(
            f"Le fichier a plus de {fr_int(limits.max_rows)} lignes : la limite est de "
            f"{fr_int(limits.max_rows)}. Découpez-le en plusieurs fichiers."
        )
    if cells > limits.max_cells:
        raise InputError(
            f"Le fichier a plus de {fr_int(limits.max_cells)} cellules : la limite est de "
            f"{fr_int(limits.max_cells)}. Découpez-le en plusieurs fichiers."
        )


# --------------------------------------------------------------------------------------------
# CSV


def _read_csv(data: bytes, limits: Limits, clock: _Clock) -> _Read:
    if data.startswith(_BINARY_MAGIC):
        raise InputError(BINARY)
    decoded = decode(data)
    text = decoded.text
    header = _header_line(text, limits)
    failures: list[tuple[str, Malformed]] = []
    for sep in separator_candidates(header):
        try:
            read = _parse_csv(text, sep, limits, clock)
        except Malformed as exc:
            failures.append((sep, exc))
            continue
        read.source = f"CSV séparé par {SEPARATOR_NAMES[sep]}, encodage {decoded.encoding}"
        return read
    raise malformed_csv(*failures[0])


def malformed_csv(sep: str, exc: Malformed) -> InputError:
    """The refusal of a CSV that does not split into rows with the separator ``sep``."""
    return InputError(
        f"Le fichier CSV est mal formé (ligne {fr_int(exc.line)} : {exc.why}, séparateur "
        f"{SEPARATOR_NAMES[sep]}) : vérifiez qu'il a le même nombre de colonnes à chaque ligne "
        "(séparateur « ; » ou « , ») et que les guillemets sont fermés."
    )


_NOT_BLANK = re.compile(r"\S")
_LINE_END = re.compile(r"[\r\n]")


def _header_line(text: str, limits: Limits) -> str:
    """The first non-blank line, once its length and field count are known acceptable."""
    first = _NOT_BLANK.search(text)
    if first is None:
        raise InputError("Le fichier ne contient aucune donnée.")
    start = max(text.rfind("\n", 0, first.start()), text.rfind("\r", 0, first.start())) + 1
    end = _LINE_END.search(text, start)
    line = text[start : end.start() if end else len(text)]
    # Counting separators is linear and cheap; parsing or naming 300 000 columns is not.
    fields = max(line.count(sep) for sep in SEPARATORS) + 1
    if fields > limits.max_columns:
        raise _too_many_columns(fields, limits, " d'après son en-tête (sa première ligne)")
    if len(line) > limits.max_header_chars:
        raise InputError(
            f"L'en-tête du fichier (sa première ligne) fait {fr_int(len(line))} caractères : "
            f"{fr_int(limits.max_header_chars)} au plus. Vérifiez que la première ligne "
            "contient bien les noms des colonnes."
        )
    return line


def _parse_csv(text: str, sep: str, limits: Limits, clock: _Clock, *, strict: bool = True) -> _Read:
    """Rows of ``text`` split by ``sep``, checked against the limits as they come.

    Read strictly first, to catch a quote never closed; a file whose only fault is text after
    a closing quote (``"a"b``, or a cell starting with ``"`` unquoted) is then read leniently,
    the text kept, as spreadsheets do.
    """
    # A cell may be as long as the file (the limit is the file's size, not the cell's).
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_bytes))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=strict)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    width = 0
    line = 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if len(record) < 2 and not "".join(record).strip():
                continue  # a blank line (a row of empty cells is a row)
            if header is None:
                header, width = record, len(record)
                continue
            if len(record) > width:
                if any(cell.strip() for cell in record[width:]):
                    raise Malformed(
                        start, f"{fr_int(len(record))} valeurs pour {fr_int(width)} colonnes"
                    )
                record = record[:width]
            elif len(record) < width:
                record += [""] * (width - len(record))
            rows.append(record)
            lines.append(start)
            _check_rows(len(rows), len(rows) * width, limits)
            if len(rows) % 1024 == 0:
                clock.tick()
    except csv.Error as exc:
        if strict and "unexpected end of data" not in str(exc):
            return _parse_csv(text, sep, limits, clock, strict=False)
        why = next(
            (fr for en, fr in CSV_ERRORS_FR.items() if en in str(exc)), "guillemets mal placés"
        )
        raise Malformed(line, why) from None
    if header is None:  # only empty cells, such as a lone "" : nothing names a column
        raise InputError("Le fichier ne contient aucune donnée.")
    return _Read(header, rows, lines, "", [])


# --------------------------------------------------------------------------------------------
# Excel


def _read_excel(data: bytes, limits: Limits, clock: _Clock) -> _Read:
    book = Workbook(
        data, max_unpacked=limits.max_unpacked, max_strings=limits.max_cells, tick=clock.tick
    )
    header: dict[int, str] | None = None
    records: list[dict[int, str]] = []
    lines: list[int] = []
    width = cells = 0
    for number, values in book.rows():
        last = max(values)
        if last >= limits.max_columns:
            raise _too_many_columns(
                last + 1,
                limits,
                f" (la cellule {column_letters(last)}{number} de la feuille « {book.sheet_name} » "
                "a une valeur)",
            )
        width = max(width, last + 1)
        if header is None:
            header = values
            continue
        records.append(values)
        lines.append(number)
        cells += len(values)
        _check_rows(len(records), cells, limits)
    if header is None:
        raise InputError(
            f"La première feuille du classeur (« {book.sheet_name} ») est vide : mettez le "
            "tableau dans la première feuille."
        )
    names = [header.get(i, "") for i in range(width)]
    rows = [[values.get(i, "") for i in range(width)] for values in records]
    notes = _unfilled_notes(book, names)
    source = f"classeur Excel, première feuille (« {book.sheet_name} »)"
    return _Read(names, rows, lines, source, notes)


def _unfilled_notes(book: Workbook, names: list[str]) -> list[str]:
    """One sentence per column holding formulas whose value Excel never computed."""
    by_column: dict[int, list[int]] = {}
    for row, column in book.unfilled:
        by_column.setdefault(column, []).append(row)
    notes = []
    for column, rows in sorted(by_column.items()):
        name = names[column].strip() if column < len(names) else ""
        label = column_letters(column)
        if name:
            label = f"« {name} » ({label})"
        shown = ", ".join(fr_int(r) for r in rows[:_SHOWN])
        more = f" et {fr_int(len(rows) - _SHOWN)} autres" if len(rows) > _SHOWN else ""
        notes.append(
            f"La colonne {label} contient des formules dont le classeur n'a pas enregistré la "
            f"valeur (lignes {shown}{more}) : elles sont lues comme vides. Ouvrez le fichier "
            "dans votre tableur et enregistrez-le : les valeurs seront calculées."
        )
    if book.unfilled_count > len(book.unfilled):
        notes.append(
            f"En tout, {fr_int(book.unfilled_count)} formules sans valeur enregistrée sont lues "
            "comme vides."
        )
    return notes


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return re.sub(
        r"[^a-z0-9]+", " ", "".join(c for c in text if not unicodedata.combining(c)).lower()
    ).strip()


_ADDRESS_WORDS = ("adresse", "address", "voie", "rue", "numero", "num", "libelle voie")
_CITY_WORDS = ("code postal", "cp", "postcode", "ville", "commune", "localite", "city")
_LON_WORDS = ("lon", "lng", "long", "longitude", "x")
_LAT_WORDS = ("lat", "latitude", "y")


def guess_address_columns(columns: list[str]) -> list[str]:
    """Columns that look like parts of an address (street first, then postcode / city)."""
    folded = {c: _fold(c) for c in columns}
    street = [
        c
        for c, f in folded.items()
        if any(w in f.split() or f.startswith(w) for w in _ADDRESS_WORDS)
    ]
    city = [
        c
        for c, f in folded.items()
        if c not in street and any(f == w or f.startswith(w) for w in _CITY_WORDS)
    ]
    return street + city


def guess_lonlat_columns(columns: list[str]) -> tuple[str, str] | None:
    """``(lon, lat)`` column names when the table has both, else None."""
    folded = {c: _fold(c) for c in columns}
    lon = next((c for c, f in folded.items() if f in _LON_WORDS), None)
    lat = next((c for c, f in folded.items() if f in _LAT_WORDS), None)
    return (lon, lat) if lon and lat else None


def join_address(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One address string per row from the chosen columns (blank parts skipped)."""
    missing = [c for c in columns if c not in df.columns]
    if not columns or missing:
        raise InputError(
            f"Colonnes d'adresse introuvables : {', '.join(missing) or 'aucune choisie'}."
        )
    parts = df[columns].astype(str).apply(lambda col: col.str.strip())
    return parts.apply(lambda row: " ".join(p for p in row if p), axis=1)
