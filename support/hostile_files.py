"""The hostile files of issue 11, built in memory: what each must end in.

Shared by the hostile test suite (``tests/hostile/``) and the load test that uploads them while
other visitors use the app (``bench/load_hostile.py``). Each :class:`HostileFile` is built from
nothing (no fixture file in the repository), is small enough to upload (5 Mo at most), and must
be refused by the file page and by ``python -m geo check`` with a French message containing
:attr:`HostileFile.expected`, within the limit it names.

Every workbook here is written by hand, part by part, so that its XML is exactly the hostile
one: a single cell at XFD1048576, a ``<dimension>`` that lies, a DTD, a torn deflate stream...
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
MEBI = 1024 * 1024
# A file may also be refused by the reading's time budget (a busy server): said this way.
TIME_LIMIT_SAID = "La lecture du fichier a dépassé"


@dataclass(frozen=True)
class HostileFile:
    """One hostile upload: its name, how to build it, the limit it breaks, what must be said."""

    key: str
    filename: str
    build: Callable[[], bytes]
    limit: str  # the limit or the check it meets, for the report
    expected: tuple[str, ...]  # fragments of the French refusal: one of them must be said
    # The command line streams CSV files with no row or size limit: where a file breaks only
    # the page's limit, what ``geo check`` says instead (None: the same), or "" when the file is
    # no longer hostile there (an ordinary file, checked: see tests/test_check_stream.py).
    on_command_line: tuple[str, ...] | str | None = None

    def data(self) -> bytes:
        return self.build()

    def said(self, message: str, *, command_line: bool = False) -> bool:
        """Whether ``message`` is the refusal expected (on the page, or by ``geo check``)."""
        expected = self.expected
        if command_line and isinstance(self.on_command_line, tuple):
            expected = self.on_command_line
        return any(fragment in message for fragment in expected)


# --------------------------------------------------------------------------------------------
# Workbooks written part by part


def workbook(sheet_xml: str | bytes, *, parts: dict[str, bytes] | None = None,
             drop: tuple[str, ...] = ()) -> bytes:  # fmt: skip
    """An .xlsx holding ``sheet_xml`` as its first sheet (plus ``parts``, minus ``drop``)."""
    sheet = sheet_xml.encode() if isinstance(sheet_xml, str) else sheet_xml
    files = {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            b'.org/package/2006/content-types"><Default Extension="rels" ContentType="application'
            b'/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            b'ContentType="application/xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" '
            f'xmlns:r="{REL_NS}"><sheets><sheet name="Adresses" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
        **(parts or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            if name not in drop:
                archive.writestr(name, content)
    return buffer.getvalue()


def sheet(rows: str, *, dimension: str | None = None, prolog: str = "") -> str:
    """A worksheet part around ``rows`` (``<row>`` elements)."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN_NS}">{dim}'
        f"<sheetData>{rows}</sheetData></worksheet>"
    )


def text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def far_cell() -> bytes:
    """4,8 Ko: one cell, at XFD1048576, the last one Excel has (the issue's server killer)."""
    return workbook(
        sheet(
            f'<row r="1048576">{text_cell("XFD1048576", "x")}</row>',
            dimension="A1:XFD1048576",
        )
    )


def lying_dimension() -> bytes:
    """Declares A1:B3, holds a header and 300 000 rows."""
    rows = [f'<row r="1">{text_cell("A1", "nom")}{text_cell("B1", "adresse")}</row>']
    rows += [f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2, 300_002)]
    return workbook(sheet("".join(rows), dimension="A1:B3"))


def wide_row() -> bytes:
    """A header row of 20 000 cells without references (each placed after the previous)."""
    cells = "".join(f'<c t="inlineStr"><is><t>lat{i}</t></is></c>' for i in range(20_000))
    return workbook(sheet(f'<row r="1">{cells}</row>'))


def malformed_xml() -> bytes:
    """A sheet whose XML stops in the middle of a tag."""
    return workbook(
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}"><sheetData>'
        f'<row r="1">{text_cell("A1", "nom")}</row><row r="2"><c r="A2" t="inl'
    )


def corrupt_deflate() -> bytes:
    """A valid workbook whose sheet's compressed bytes are scrambled in the middle."""
    rows = "".join(
        f'<row r="{r}">{text_cell(f"A{r}", f"{r} rue de la Gare")}</row>' for r in range(1, 400)
    )
    data = bytearray(workbook(sheet(rows)))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    header = info.header_offset
    name_len, extra_len = struct.unpack_from("<HH", data, header + 26)
    start = header + 30 + name_len + extra_len
    middle = start + info.compress_size // 2
    for i in range(middle, middle + 64):
        data[i] ^= 0x5A
    return bytes(data)


def missing_part() -> bytes:
    """A workbook without its sheet list (``xl/workbook.xml``)."""
    return workbook(sheet(f'<row r="1">{text_cell("A1", "nom")}</row>'), drop=("xl/workbook.xml",))


def billion_laughs() -> bytes:
    """A sheet declaring nested entities: 10^9 « lol » if expanded."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    return workbook(
        sheet(
            '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>',
            prolog=f"<!DOCTYPE worksheet [{entities}]>",
        )
    )


def deflate_bomb() -> bytes:
    """A sheet that inflates 1 000 times: 30 Mo of spaces in 30 Ko."""
    return workbook(sheet(f'<row r="1">{text_cell("A1", "nom")}</row>' + " " * 30_000_000))


def lying_sizes() -> bytes:
    """A sheet of 50 Mo whose zip headers claim 1 000 bytes: a bomb past the size check."""
    data = bytearray(workbook(sheet(f'<row r="1">{text_cell("A1", "x")}</row>' + " " * 50 * MEBI)))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)  # local header
    central = data.find(b"PK\x01\x02")
    while central >= 0:  # the same field in the sheet's central directory entry
        (name_len,) = struct.unpack_from("<H", data, central + 28)
        if data[central + 46 : central + 46 + name_len] == info.filename.encode():
            struct.pack_into("<I", data, central + 24, 1000)
        central = data.find(b"PK\x01\x02", central + 46)
    return bytes(data)


def many_strings() -> bytes:
    """A table of 1 200 000 distinct texts (sharedStrings.xml) for a one-cell sheet."""
    strings = "".join(f"<si><t>{i}</t></si>" for i in range(1_200_000))
    sst = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}">{strings}</sst>'
    rels = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    return workbook(
        sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
        parts={"xl/sharedStrings.xml": sst.encode(), "xl/_rels/workbook.xml.rels": rels.encode()},
    )


# --------------------------------------------------------------------------------------------
# CSV


def wide_header() -> bytes:
    """300 000 columns all named « lat » (1,2 Mo): quadratic to de-duplicate, naively."""
    return ("lat;" * 300_000 + "\n" + "1;" * 300_000 + "\n").encode()


def long_header() -> bytes:
    """150 column names of 200 characters: a 30 000-character header line."""
    names = ";".join(f"{i:03d}" + "x" * 197 for i in range(150))
    return (names + "\n" + ";" * 149 + "\n").encode()


def many_rows() -> bytes:
    """Just under 5 Mo of one-character rows: 2,6 million of them."""
    return b"a\n" + b"1\n" * ((5 * MEBI - 4096) // 2)


def mixed_encoding() -> bytes:
    """UTF-8, except one Windows-1252 « é » on line 3 (« LiÃ©vin » if read either way)."""
    return (
        "nom;commune\nÉlise;Liévin\n".encode() + "Marc;Méricourt\n".encode("cp1252")
        + "Zoé;Hénin-Beaumont\n".encode()
    )  # fmt: skip


def just_over() -> bytes:
    """One byte over 5 Mo."""
    return b"adresse\n" + b"1 rue de la Gare\n" * (5 * MEBI // 17) + b"x" * (5 * MEBI % 17 - 7)


def binary() -> bytes:
    """A PNG named .csv."""
    return b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


FILES = (
    HostileFile("xlsx-far-cell", "loin.xlsx", far_cell, "200 colonnes",
                ("Le fichier a 16\u202f384 colonnes (la cellule XFD1048576",)),
    HostileFile("xlsx-lying-dimension", "long.xlsx", lying_dimension,
                "10\u202f000 lignes (dimension A1:B3 non crue)", ("plus de 10\u202f000 lignes",)),
    HostileFile("xlsx-wide-row", "large.xlsx", wide_row, "16\u202f384 cellules par ligne",
                ("plus de 16\u202f384 cellules",)),
    HostileFile("xlsx-malformed-xml", "casse.xlsx", malformed_xml, "XML valide",
                ("n'est pas du XML valide",)),
    HostileFile("xlsx-corrupt-deflate", "abime.xlsx", corrupt_deflate, "flux zip intact",
                ("est corrompue",)),
    HostileFile("xlsx-missing-part", "incomplet.xlsx", missing_part, "parties présentes",
                ("la partie xl/workbook.xml manque",)),
    HostileFile("xlsx-billion-laughs", "rires.xlsx", billion_laughs, "pas de DTD",
                ("déclaration de type de document",)),
    HostileFile("xlsx-deflate-bomb", "bombe.xlsx", deflate_bomb,
                "100 Mo décompressés, 200 fois la taille", ("anormalement grand",)),
    HostileFile("xlsx-lying-sizes", "menteur.xlsx", lying_sizes, "tailles déclarées (CRC)",
                ("est corrompue",)),
    HostileFile("xlsx-many-strings", "textes.xlsx", many_strings, "500\u202f000 cellules",
                ("textes : la limite est de", TIME_LIMIT_SAID)),
    HostileFile("csv-wide-header", "entete.csv", wide_header, "200 colonnes",
                ("Le fichier a 300\u202f001 colonnes d'après son en-tête",)),
    HostileFile("csv-long-header", "noms.csv", long_header, "20\u202f000 caractères d'en-tête",
                ("fait 30\u202f149 caractères",)),
    HostileFile("csv-many-rows", "lignes.csv", many_rows, "10\u202f000 lignes",
                ("plus de 10\u202f000 lignes",),
                on_command_line=("Aucune colonne d'adresse ni de coordonnées reconnue",)),
    HostileFile("csv-mixed-encoding", "melange.csv", mixed_encoding, "un seul encodage",
                ("mélange deux encodages : il est en UTF-8, sauf la ligne 3",)),
    HostileFile("csv-just-over", "gros.csv", just_over, "5 Mo",
                ("pèse 5\u202f242\u202f881 octets : la limite est de 5 Mo "
                 "(5\u202f242\u202f880 octets)",),
                on_command_line=""),
    HostileFile("csv-binary", "image.csv", binary, "texte", ("contenu binaire",)),
)  # fmt: skip
"""Every hostile file, in the order the reports list them."""

BY_KEY = {f.key: f for f in FILES}
