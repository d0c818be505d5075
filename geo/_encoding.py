"""Decode the bytes of a user's text file, and say which encoding was used.

Deterministic, no guessing library: a byte-order mark settles UTF-8 and UTF-16; valid UTF-8 is
UTF-8; a file that is UTF-8 in places and not elsewhere is refused with the lines named (decoding
it either way would garble part of it, « LiÃ©vin »); anything else is one of the single-byte
encodings French spreadsheets write (Windows-1252, ISO-8859-15, MacRoman), chosen from the bytes
inside words (see :func:`_single_byte`).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from geo.errors import InputError
from geo.format import fr_int

BINARY = (
    "Ce fichier n'est pas un fichier texte CSV (contenu binaire) : exportez votre tableau au "
    "format CSV ou .xlsx."
)
_PROBE = 4096  # bytes looked at to recognise UTF-16 without a byte-order mark
_SAMPLE = 65_536  # characters looked at for control characters
_SHOWN_LINES = 5
# Characters of French text outside ASCII: one of them written in valid UTF-8 shows that a file
# with bad bytes elsewhere is UTF-8 in places, hence mixed.
_FRENCH = set("àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ«»’‘“”…–—€°\u00a0\u202f")
_EVIDENCE = 2  # bytes in favour of MacRoman or ISO-8859-15 before either is chosen
_ISO_WORD_BYTES = frozenset(b"\xa6\xa8\xb4\xb8\xbc\xbd\xbe")  # Š š Ž ž Œ œ Ÿ
_MAC_LETTERS = frozenset(b"\x82\x83\x88\x89\x8e\x99\x9e")  # MacRoman Ç É à â é ô û
_MAC_INNER_LETTERS = frozenset(b"\x91\x94\x95\x9f")  # MacRoman ë î ï ü
_WINDOWS_WORD_BYTES = frozenset(b"\x8c\x92\x9c")  # Windows-1252 Œ ’ œ
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_C1_RANGE = re.compile(rb"[\x80-\x9f]")
_SCORED_CHARACTERS = 20_000  # non-ASCII bytes looked at: plenty to tell, bounded in time
_BAD_BYTE = re.compile("[\udc80-\udcff]")
_UTF8_FRENCH = re.compile("[" + re.escape("".join(sorted(_FRENCH))) + "]")


@dataclass(frozen=True)
class Decoded:
    """Text decoded from a file, and the encoding used (a label for users)."""

    text: str
    encoding: str


@dataclass(frozen=True)
class Encoding:
    """How to decode a file: the Python codec, and the label said to users.

    ``strip_bom``: one leading U+FEFF is dropped from the text (UTF-16 files).
    """

    codec: str
    label: str
    strip_bom: bool = False


Blocks = Callable[[], Iterable[bytes]]
"""A way to read a file's bytes from the start, block by block (may be called twice)."""


def decode(data: bytes) -> Decoded:
    """Decode a text file's bytes (see the module docstring for the rules).

    Raises
    ------
    InputError
        Binary content (NUL or control characters), damaged UTF-16, or a file mixing UTF-8
        with another encoding (the lines are named).
    """
    encoding = detect(lambda: (data,))
    text = data.decode(encoding.codec)
    if encoding.strip_bom:
        text = text.removeprefix("\ufeff")
    check_text(text)
    return Decoded(text, encoding.label)


def detect(blocks: Blocks) -> Encoding:
    """The encoding of a file read block by block: the decision :func:`decode` takes.

    The whole file is read (once if it is valid UTF-8 or UTF-16, twice otherwise), never more
    than one block at a time: the decision rests on every byte, whatever the file's size. The
    text itself is checked by :func:`check_text` on its beginning.

    Raises
    ------
    InputError
        As :func:`decode`, except for the check of the text.
    """
    probe = _probe(blocks)
    bom = probe.startswith(codecs.BOM_UTF8)
    utf16 = None if bom else _utf16_codec(probe)
    if utf16 is None and b"\x00" in probe:
        raise InputError(BINARY)
    if utf16 is not None:
        if not _decodes(blocks, utf16):
            raise InputError(
                "Ce fichier est en UTF-16 mais il est tronqué ou endommagé : enregistrez-le de "
                "nouveau depuis votre tableur, en CSV UTF-8 de préférence."
            )
        return Encoding(utf16, "UTF-16", strip_bom=True)
    if _decodes(blocks, "utf-8-sig"):
        return Encoding("utf-8-sig", "UTF-8 (avec BOM)" if bom else "UTF-8")
    mixed = _mixed_message(blocks, bom=bom)
    if mixed:
        raise InputError(mixed)
    return _single_byte(blocks)


def check_text(text: str) -> None:
    """Refuse text holding NUL or control characters: a binary file, whatever its name.

    Only the first 65 536 characters are looked at (``text`` may be just those).
    """
    sample = text[:_SAMPLE]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\x0c")
    if "\x00" in sample or controls > max(8, len(sample) // 100):
        raise InputError(BINARY)


def _probe(blocks: Blocks) -> bytes:
    """The first :data:`_PROBE` bytes."""
    probe = b""
    for block in blocks():
        probe += block[: _PROBE - len(probe)]
        if len(probe) >= _PROBE:
            break
    return probe


def _decodes(blocks: Blocks, codec: str) -> bool:
    """Whether every byte decodes with ``codec`` (decoded block by block, then dropped)."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        for block in blocks():
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    # A file of one or two bytes that begin a UTF-8 BOM (0xEF, 0xEF 0xBB): Python's utf-8-sig
    # decoder keeps them, waiting for the third, even when told the file has ended.
    return not decoder.getstate()[0]


def _utf16_codec(probe: bytes) -> str | None:
    """``utf-16`` (byte-order mark) or ``utf-16-le``/``-be`` (zeros on one side), else None."""
    if probe.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(probe) < 4:
        return None
    even, odd = probe[0::2], probe[1::2]
    # Latin text in UTF-16 has a zero byte beside almost every character; binary files have
    # zeros on both sides.
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.02 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.02 * len(odd):
        return "utf-16-be"
    return None


def _mixed_message(blocks: Blocks, *, bom: bool) -> str | None:
    """The refusal of a file that is UTF-8 in places (or has a UTF-8 BOM) and not elsewhere."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")  # bad -> U+DCxx
    french = bom
    first: int | None = None  # the first bad byte
    lines: list[int] = []  # the first distinct lines (from 1) holding bad bytes
    line = 1
    for block in (*blocks(), None):
        text = decoder.decode(block or b"", final=block is None)
        french = french or _UTF8_FRENCH.search(text) is not None
        last = 0
        for match in _BAD_BYTE.finditer(text):
            if first is None:
                first = ord(match.group()) - 0xDC00
            line += text.count("\n", last, match.start())
            last = match.start()
            if len(lines) <= _SHOWN_LINES and (not lines or lines[-1] != line):
                lines.append(line)
        line += text.count("\n", last)
    if first is None or not french:
        return None
    shown = ", ".join(fr_int(n) for n in lines[:_SHOWN_LINES])
    more = " et d'autres" if len(lines) > _SHOWN_LINES else ""
    which = "la ligne" if len(lines) == 1 else "les lignes"
    return (
        f"Ce fichier mélange deux encodages : il est en UTF-8, sauf {which} {shown}{more}, où "
        f"se trouvent des octets d'un autre encodage (par exemple 0x{first:02X}, « "
        f"{bytes([first]).decode('cp1252', errors='replace')} » en Windows-1252). Le lire d'une "
        "seule façon abîmerait une partie des lettres accentuées : ouvrez-le dans votre "
        "tableur, corrigez ces lignes et enregistrez-le en « CSV UTF-8 »."
    )


def _single_byte(blocks: Blocks) -> Encoding:
    """The single-byte encoding the bytes were written in.

    The three agree on ASCII; they are told apart by the bytes inside words, where a French text
    has its accented letters:

    - MacRoman writes é, à, â, É, ô... as 0x80-0x9F, where Windows-1252 has Ž, ˆ, ‰, ƒ, ™ (no
      French word holds them) and leaves ç, è, ê, ù undefined; Windows-1252 writes accented
      letters as 0xC0-0xFF, and ’, œ, Œ as 0x92, 0x9C, 0x8C. MacRoman is chosen when Windows-1252
      cannot decode the file, or when its bytes outnumber Windows-1252's (at least
      :data:`_EVIDENCE` of them).
    - ISO-8859-15 differs from Windows-1252 on 0x80-0x9F (control characters for it: never in a
      file) and on eight bytes: € after a number, and Š š Ž ž Œ œ Ÿ inside a word, count for it.

    Otherwise Windows-1252, what French spreadsheets write by far the most.
    """
    evidence = _Evidence()
    windows_decodes, c1, same_as_iso = True, False, True
    for block in blocks():
        evidence.feed(block)
        try:
            windows = block.decode("cp1252")
        except UnicodeDecodeError:
            windows_decodes = False
        else:
            same_as_iso = same_as_iso and windows == block.decode("iso8859_15")
        c1 = c1 or _C1_RANGE.search(block) is not None
    mac, windows_count, iso = evidence.finish()
    if not windows_decodes or (mac >= _EVIDENCE and mac > windows_count):
        return Encoding("mac_roman", "MacRoman")
    if iso >= _EVIDENCE and not c1:
        return Encoding("iso8859_15", "ISO-8859-15")
    if same_as_iso:
        return Encoding("cp1252", "Windows-1252 (identique à ISO-8859-15 pour ce fichier)")
    return Encoding("cp1252", "Windows-1252")


class _Evidence:
    """Bytes inside words pointing to MacRoman, to Windows-1252, to ISO-8859-15.

    Fed block by block: each high byte is judged with the bytes beside it, so the last byte of
    a block waits for the next one (and two bytes are carried before it, for « 5 € »).
    """

    def __init__(self) -> None:
        self.mac = self.windows = self.iso = 0
        self._seen = 0
        self._carry = b""
        self._next = 0  # index in carry + block of the first byte not judged yet

    def feed(self, block: bytes, *, final: bool = False) -> None:
        data = self._carry + block
        end = max(len(data) - (0 if final else 1), self._next)
        for match in _HIGH_BYTE.finditer(data, self._next, end):
            if self._seen >= _SCORED_CHARACTERS:
                break
            self._seen += 1
            self._judge(data, match.start())
        keep = max(0, end - 2)
        self._carry, self._next = data[keep:], end - keep

    def finish(self) -> tuple[int, int, int]:
        self.feed(b"", final=True)
        return self.mac, self.windows, self.iso

    def _judge(self, data: bytes, at: int) -> None:
        byte = data[at]
        before = _word_byte(data[at - 1 : at])
        after = _word_byte(data[at + 1 : at + 2])
        if byte in _MAC_LETTERS:
            self.mac += before or after
        elif byte in _MAC_INNER_LETTERS:  # ‘ ” • Ÿ in Windows-1252: inside a word, ë î ï ü
            self.mac += before and after
        elif byte in _WINDOWS_WORD_BYTES or (byte >= 0xC0 and byte not in (0xD7, 0xF7)):
            self.windows += before or after
        if byte in _ISO_WORD_BYTES:
            self.iso += before or after
        elif byte == 0xA4:  # € in ISO-8859-15, ¤ in Windows-1252
            self.iso += data[max(0, at - 2) : at].strip()[-1:].isdigit()


def _word_byte(byte: bytes) -> bool:
    """An ASCII letter, hyphen or apostrophe: the byte beside it is inside a word."""
    return byte.isalpha() or byte in (b"-", b"'")
