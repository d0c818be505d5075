"""Stream the first sheet of an .xlsx workbook as text cells, within a byte and time budget.

An .xlsx is a zip of XML parts. Nothing here trusts what the parts declare: the zip's sizes are
checked before anything is inflated, every part is inflated chunk by chunk against one budget
of bytes, and the XML is read with expat event by event, never as a tree, with any DTD refused
(so no entity can expand: what ``defusedxml`` forbids). The sheet's ``<dimension>`` is not
used: a 5 KB workbook can declare, or hold, a single cell at XFD1048576. Only the cells holding
a value are kept, row by row; how many rows and columns are acceptable is the caller's decision
(:mod:`geo.tabular`), taken as the rows arrive.

Errors are :class:`~geo.errors.InputError` with a French message: not a workbook, damaged
(corrupted zip stream, malformed XML, a part missing), or over the budget.
"""

from __future__ import annotations

import io
import posixpath
import pyexpat
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime, time
from typing import BinaryIO

from geo.errors import InputError
from geo.format import fr_int

MAX_PARTS = 1_000
MAX_RATIO = 200  # inflated / compressed size; office files stay far below
MAX_EXCEL_COLUMNS = 16_384  # XFD: more cells on one row is not a workbook Excel wrote
_CHUNK = 64 * 1024
_CONTENT_TYPES = "[Content_Types].xml"
_CELL_REF = re.compile(r"([A-Z]{1,7})(\d*)$")
_RESAVE = (
    "ouvrez-le dans votre tableur et enregistrez-le de nouveau au format .xlsx, ou exportez la "
    "feuille en CSV."
)

Tick = Callable[[], None]


def column_letters(index: int) -> str:
    """Excel's name of a column from its index (0 -> ``A``, 16383 -> ``XFD``)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


class Workbook:
    """The first sheet of an .xlsx, read on demand by :meth:`rows`.

    Opening reads the workbook's small parts (relationships, sheet list, styles) and its table
    of texts (``sharedStrings.xml``, at most ``max_strings`` entries); the sheet is read by
    :meth:`rows`, as many times as asked. ``max_unpacked`` bounds the bytes inflated from all
    parts together (each reading of the sheet counted with the opening's parts),
    ``max_cell_chars`` one text or cell (None: only ``max_unpacked`` bounds it), ``tick`` is
    called between chunks (the caller's clock: it raises when time is up).

    ``source`` is the file's bytes, or a binary file open for reading (read where it lies: a
    large workbook is never loaded whole).
    """

    def __init__(
        self,
        source: bytes | BinaryIO,
        *,
        max_unpacked: int,
        max_strings: int,
        tick: Tick,
        max_cell_chars: int | None = None,
    ) -> None:
        self._tick = tick
        self._left = max_unpacked
        self._max_unpacked = max_unpacked
        self._max_chars = max_cell_chars
        self._archive = _open_archive(
            io.BytesIO(source) if isinstance(source, bytes) else source, max_unpacked
        )
        self.unfilled: list[tuple[int, int]] = []  # (row, column) of formulas without value
        self.unfilled_count = 0
        workbook = self._office_document()
        targets = self._relationships(workbook)
        self.sheet_name, sheet_id, self._date1904 = self._first_sheet(workbook)
        if sheet_id not in targets:
            raise _damaged(f"la première feuille (« {self.sheet_name} ») est introuvable")
        self._sheet = targets[sheet_id]
        self._dates = self._date_styles(targets.get("styles"))
        self._strings = self._shared_strings(targets.get("sharedStrings"), max_strings)
        self._left_for_sheet = self._left

    # -- reading parts --------------------------------------------------------------------------
    def _chunks(self, name: str) -> Iterator[bytes]:
        """The inflated bytes of one part, chunk by chunk, counted against the budget."""
        try:
            part = self._archive.open(name)
        except KeyError:
            raise _damaged(f"la partie {name} manque") from None
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise _damaged(_corrupt(name, exc)) from None
        with part:
            while True:
                try:
                    chunk = part.read(_CHUNK)
                except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
                    raise _damaged(_corrupt(name, exc)) from None
                if not chunk:
                    return
                self._left -= len(chunk)
                if self._left < 0:
                    raise InputError(
                        "Ce classeur se décompresse en plus de "
                        f"{fr_int(self._max_unpacked / 2**20)} Mo : il est refusé par "
                        "sécurité. Enregistrez vos données au format CSV."
                    )
                self._tick()
                yield chunk

    def _parse(self, name: str, handler: _Handler) -> Iterator[None]:
        """Feed one part to ``handler``; yields after each chunk (to hand on what it holds)."""
        parser = _safe_parser(name)
        handler.attach(parser)
        try:
            for chunk in self._chunks(name):
                parser.Parse(chunk, False)
                yield
            parser.Parse(b"", True)
        except pyexpat.ExpatError as exc:
            raise _damaged(
                f"la partie {name} n'est pas du XML valide, ligne {fr_int(exc.lineno)}, colonne "
                f"{fr_int(exc.offset)}"
            ) from None
        yield

    def _read(self, name: str, handler: _Handler) -> None:
        for _ in self._parse(name, handler):
            pass

    def _office_document(self) -> str:
        rels = _Relationships()
        self._read("_rels/.rels", rels)
        target = rels.by_type.get("officeDocument", "xl/workbook.xml")
        return posixpath.normpath(target.lstrip("/"))

    def _relationships(self, workbook: str) -> dict[str, str]:
        """Relationship id -> part name, plus ``styles`` and ``sharedStrings`` when present."""
        folder, base = posixpath.split(workbook)
        rels = _Relationships()
        name = posixpath.join(folder, "_rels", base + ".rels")
        if name in self._archive.NameToInfo:
            self._read(name, rels)

        def resolve(target: str) -> str:
            if target.startswith("/"):
                return posixpath.normpath(target.lstrip("/"))
            return posixpath.normpath(posixpath.join(folder, target))

        parts = {rid: resolve(target) for rid, target in rels.by_id.items()}
        for kind in ("styles", "sharedStrings"):
            if kind in rels.by_type:
                parts[kind] = resolve(rels.by_type[kind])
        return parts

    def _first_sheet(self, workbook: str) -> tuple[str, str, bool]:
        handler = _WorkbookPart()
        self._read(workbook, handler)
        if handler.first is None:
            raise _damaged("il ne contient aucune feuille")
        name, rid = handler.first
        return name, rid, handler.date1904

    def _date_styles(self, name: str | None) -> frozenset[int]:
        """Indexes of the cell styles whose number format shows a date or a time."""
        if not name or name not in self._archive.NameToInfo:
            return frozenset()
        # openpyxl (about 80 ms to import) is imported here and in _date_text, when a workbook
        # is read: ``python -m geo check`` on a CSV file never pays for it.
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        handler = _Styles()
        self._read(name, handler)
        formats = {**BUILTIN_FORMATS, **handler.formats}
        return frozenset(
            i for i, fmt in enumerate(handler.cell_formats) if is_date_format(formats.get(fmt))
        )

    def _shared_strings(self, name: str | None, max_strings: int) -> list[str]:
        if not name or name not in self._archive.NameToInfo:
            return []
        handler = _SharedStrings(max_strings, self._max_chars)
        self._read(name, handler)
        return handler.strings

    # -- the sheet ------------------------------------------------------------------------------
    def rows(self) -> Iterator[tuple[int, dict[int, str]]]:
        """(row number in the sheet, {column index: text}) of each row holding a value."""
        self._left = self._left_for_sheet
        handler = _SheetData(self._cell_text, self._max_chars)
        for _ in self._parse(self._sheet, handler):
            yield from handler.done
            handler.done.clear()
        self.unfilled, self.unfilled_count = handler.unfilled, handler.unfilled_count

    def _cell_text(self, kind: str, raw: str, style: int) -> str:
        """A cell's value as text, as Excel shows it (dates ISO, booleans VRAI / FAUX)."""
        if kind == "s":
            try:
                return self._strings[int(raw)]
            except (ValueError, IndexError):
                raise _damaged(f"une cellule renvoie au texte n° {raw[:20]!r}, absent") from None
        if kind == "b":
            return "VRAI" if raw.strip() in ("1", "true") else "FAUX"
        if kind in ("str", "inlineStr", "e", "d"):
            return raw
        try:
            number = float(raw)
        except ValueError:
            return raw.strip()
        if style in self._dates:
            return _date_text(number, self._date1904) or raw.strip()
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return format(number, ".15g")  # Excel shows 15 significant digits


def _date_text(serial: float, date1904: bool) -> str | None:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
    try:
        value = from_excel(serial, epoch)
    except (ValueError, OverflowError):
        return None
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    return None


def _open_archive(file: BinaryIO, max_unpacked: int) -> zipfile.ZipFile:
    """The zip, once its declared sizes and ratio are known acceptable."""
    magic = file.read(4)
    file.seek(0)
    if magic == b"\xd0\xcf\x11\xe0":
        raise InputError(
            "Ce classeur est protégé par un mot de passe, ou enregistré dans l'ancien format "
            "Excel 97-2003 : enregistrez-le sans mot de passe au format .xlsx, ou exportez-le "
            "en CSV."
        )
    try:
        archive = zipfile.ZipFile(file)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(
            "Ce fichier n'est pas un classeur Excel .xlsx valide (il a peut-être été renommé) : "
            "ouvrez-le dans votre tableur et enregistrez-le au format .xlsx ou .csv."
        ) from exc
    if len(infos) > MAX_PARTS:
        raise InputError(
            f"Ce classeur contient {fr_int(len(infos))} fichiers internes ({fr_int(MAX_PARTS)} "
            "au plus) : il est refusé par sécurité. Enregistrez vos données au format CSV."
        )
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > max_unpacked or total / packed > MAX_RATIO:
        raise InputError(
            f"Ce classeur se décompresse en {fr_int(total / 2**20)} Mo à partir de "
            f"{fr_int(packed / 1024)} Ko, un volume anormalement grand (la limite est de "
            f"{fr_int(max_unpacked / 2**20)} Mo, et {MAX_RATIO} fois la taille compressée) : "
            "il est refusé par sécurité. Enregistrez vos données au format CSV."
        )
    if _CONTENT_TYPES not in archive.NameToInfo:
        raise InputError(
            "Ce fichier n'est pas un classeur Excel .xlsx valide (un fichier zip sans "
            f"{_CONTENT_TYPES}) : {_RESAVE}"
        )
    return archive


def _corrupt(name: str, exc: Exception) -> str:
    """Why a part cannot be inflated, in French."""
    if isinstance(exc, zlib.error):
        why = "données compressées illisibles"
    elif isinstance(exc, EOFError):
        why = "archive tronquée"
    else:
        why = "contrôle d'intégrité en échec" if "CRC" in str(exc) else "archive abîmée"
    return f"la partie {name} est corrompue : {why}"


def _damaged(why: str) -> InputError:
    return InputError(f"Le classeur Excel est endommagé ({why}) : {_RESAVE}")


def _safe_parser(name: str) -> pyexpat.XMLParserType:
    """An expat parser that refuses any DTD, hence any entity (the billion laughs)."""
    parser = pyexpat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_args) -> None:
        raise InputError(
            f"Le classeur Excel contient une déclaration de type de document (DTD) dans {name} : "
            "un classeur enregistré par un tableur n'en a jamais. Il est refusé par sécurité."
        )

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    return parser


# --------------------------------------------------------------------------------------------
# One handler per kind of part: expat callbacks, keeping only what is needed


class _Handler:
    """Expat callbacks for one part. Element names arrive as ``namespace}name``: each handler
    starts with ``name = self._names.get(name) or self._local(name)`` (one call per event, the
    sheet has millions of them)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def _local(self, name: str) -> str:
        local = self._names[name] = name.rpartition("}")[2]
        return local

    def attach(self, parser) -> None:
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.text

    def start(self, name: str, attrs: dict[str, str]) -> None:
        pass

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass


def _attribute(attrs: dict[str, str], local: str) -> str | None:
    """An attribute by local name, whatever its namespace (``r:id`` in either OOXML flavour)."""
    for key, value in attrs.items():
        if key.rpartition("}")[2] == local:
            return value
    return None


class _Relationships(_Handler):
    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.by_type: dict[str, str] = {}

    def start(self, name, attrs):
        name = self._names.get(name) or self._local(name)
        if name == "Relationship" and "Target" in attrs:
            self.by_id[attrs.get("Id", "")] = attrs["Target"]
            kind = attrs.get("Type", "").rpartition("/")[2]
            self.by_type.setdefault(kind, attrs["Target"])


class _WorkbookPart(_Handler):
    def __init__(self) -> None:
        super().__init__()
        self.first: tuple[str, str] | None = None
        self.date1904 = False

    def start(self, name, attrs):
        name = self._names.get(name) or self._local(name)
        if name == "sheet" and self.first is None:
            self.first = (attrs.get("name", "")[:100], _attribute(attrs, "id") or "")
        elif name == "workbookPr":
            self.date1904 = attrs.get("date1904", "").lower() in ("1", "true")


class _Styles(_Handler):
    def __init__(self) -> None:
        super().__init__()
        self.formats: dict[int, str] = {}
        self.cell_formats: list[int] = []
        self._in_cell_formats = False

    def start(self, name, attrs):
        name = self._names.get(name) or self._local(name)
        if name == "numFmt":
            self.formats[_int(attrs.get("numFmtId"))] = attrs.get("formatCode", "")
        elif name == "cellXfs":
            self._in_cell_formats = True
        elif name == "xf" and self._in_cell_formats:
            self.cell_formats.append(_int(attrs.get("numFmtId")))

    def end(self, name):
        name = self._names.get(name) or self._local(name)
        if name == "cellXfs":
            self._in_cell_formats = False


class _SharedStrings(_Handler):
    """The workbook's table of texts: each ``<si>``'s ``<t>`` runs, phonetic runs left out."""

    def __init__(self, max_strings: int, max_chars: int | None) -> None:
        super().__init__()
        self.strings: list[str] = []
        self._unique: dict[str, str] = {}  # one object per distinct text
        self._max = max_strings
        self._max_chars = max_chars
        self._parts: list[str] = []
        self._chars = 0
        self._in_text = False
        self._phonetic = 0

    def start(self, name, attrs):
        name = self._names.get(name) or self._local(name)
        if name == "sst" and _int(attrs.get("uniqueCount")) > self._max:
            self._refuse()  # declared: no need to read a million of them to know
        if name == "t" and not self._phonetic:
            self._in_text = True
        elif name == "rPh":
            self._phonetic += 1

    def end(self, name):
        name = self._names.get(name) or self._local(name)
        if name == "t":
            self._in_text = False
        elif name == "rPh":
            self._phonetic -= 1
        elif name == "si":
            if len(self.strings) >= self._max:
                self._refuse()
            text = "".join(self._parts)
            self.strings.append(self._unique.setdefault(text, text))
            self._parts.clear()
            self._chars = 0

    def text(self, data):
        if self._in_text:
            self._parts.append(data)
            self._chars += len(data)
            if self._max_chars is not None and self._chars > self._max_chars:
                raise _too_long(self._max_chars, "un de ses textes")

    def _refuse(self):
        raise InputError(
            f"Ce classeur contient plus de {fr_int(self._max)} textes : la limite est de "
            f"{fr_int(self._max)}. Découpez-le en plusieurs fichiers, ou enregistrez-le au "
            "format CSV."
        )


def _too_long(max_chars: int, what: str) -> InputError:
    return InputError(
        f"Ce classeur a {what} de plus de {fr_int(max_chars)} caractères : "
        f"{fr_int(max_chars)} au plus par cellule. Vérifiez le fichier."
    )


class _SheetData(_Handler):
    """Rows of ``<sheetData>``: only cells holding a value are kept; gaps cost nothing."""

    def __init__(self, cell_text: Callable[[str, str, int], str], max_chars: int | None) -> None:
        super().__init__()
        self._cell_text = cell_text
        self._max_chars = max_chars
        self._chars = 0
        self.done: list[tuple[int, dict[int, str]]] = []
        self.unfilled: list[tuple[int, int]] = []
        self.unfilled_count = 0
        self._row = 0
        self._cells: dict[int, str] = {}
        self._in_row = False
        self._count = 0
        self._column = -1
        self._kind = "n"
        self._style = 0
        self._formula = False
        self._value: list[str] = []
        self._collect = False
        self._has_value = False
        self._phonetic = 0

    def start(self, name, attrs):
        name = self._names.get(name) or self._local(name)
        if name == "c":
            self._count += 1
            if self._count > MAX_EXCEL_COLUMNS:
                raise _damaged(
                    f"la ligne {fr_int(self._row)} a plus de {fr_int(MAX_EXCEL_COLUMNS)} cellules"
                )
            ref = attrs.get("r")
            match = _CELL_REF.match(ref) if ref else None
            self._column = _column_index(match.group(1)) if match else self._column + 1
            self._kind = attrs.get("t", "n")
            self._style = _int(attrs.get("s"))
            self._formula = self._has_value = False
            self._value.clear()
            self._chars = 0
        elif name == "row":
            number = attrs.get("r")
            self._row = int(number) if number and number.isdigit() else self._row + 1
            self._in_row, self._cells, self._count, self._column = True, {}, 0, -1
        elif name == "v":
            self._collect = self._has_value = True
        elif name == "f":
            self._formula = True
        elif name == "t":  # inline string runs
            self._collect = not self._phonetic
            self._has_value = True
        elif name == "rPh":
            self._phonetic += 1

    def end(self, name):
        name = self._names.get(name) or self._local(name)
        if name == "c":
            raw = "".join(self._value)
            # A formula's result is cached in <v>; an empty one is a result only for a text
            # formula (t="str"). Without it (openpyxl, scripts), the value is unknown.
            if self._formula and not raw and self._kind != "str":
                self.unfilled_count += 1
                if len(self.unfilled) < 1_000:
                    self.unfilled.append((self._row, self._column))
            elif self._has_value and raw:
                text = self._cell_text(self._kind, raw, self._style)
                if text.strip():
                    self._cells[self._column] = text
        elif name in ("v", "t"):
            self._collect = False
        elif name == "rPh":
            self._phonetic -= 1
        elif name == "row":
            if self._cells:
                self.done.append((self._row, self._cells))
            self._in_row = False

    def text(self, data):
        if self._collect:
            self._value.append(data)
            self._chars += len(data)
            if self._max_chars is not None and self._chars > self._max_chars:
                raise _too_long(self._max_chars, f"une cellule (ligne {fr_int(self._row)})")


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
