"""Decode the bytes of a user's text file, and say which encoding was used.

Deterministic, no guessing library: a byte-order mark settles UTF-8 and UTF-16; valid UTF-8 is
UTF-8; a file that is UTF-8 in places and not elsewhere is refused with the lines named (decoding
it either way would garble part of it, « LiÃ©vin »); anything else is one of the single-byte
encodings French spreadsheets write (Windows-1252, ISO-8859-15, MacRoman), chosen from the bytes
inside words (see :func:`_single_byte`).
"""

from __future__ import annotations

import codecs
import itertools
import re
from dataclasses import dataclass

from geo.errors import InputError
from geo.format import fr_int

BINARY = (
    "Ce fichier n'est pas un fichier texte CSV (contenu binaire) : exportez votre tableau au "
    "format CSV ou .xlsx."
)
_PROBE = 4096  # bytes looked at to recognise UTF-16 without a byte-order mark
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


def decode(data: bytes) -> Decoded:
    """Decode a text file's bytes (see the module docstring for the rules).

    Raises
    ------
    InputError
        Binary content (NUL or control characters), damaged UTF-16, or a file mixing UTF-8
        with another encoding (the lines are named).
    """
    bom = data.startswith(codecs.BOM_UTF8)
    utf16 = None if bom else _utf16_codec(data)
    if utf16 is None and b"\x00" in data[:_PROBE]:
        raise InputError(BINARY)
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            raise InputError(
                "Ce fichier est en UTF-16 mais il est tronqué ou endommagé : enregistrez-le de "
                "nouveau depuis votre tableur, en CSV UTF-8 de préférence."
            ) from None
        return _checked(text.removeprefix("\ufeff"), "UTF-16")
    try:
        return _checked(data.decode("utf-8-sig"), "UTF-8 (avec BOM)" if bom else "UTF-8")
    except UnicodeDecodeError:
        pass
    mixed = _mixed_message(data, bom=bom)
    if mixed:
        raise InputError(mixed)
    return _checked(*_single_byte(data))


def _utf16_codec(data: bytes) -> str | None:
    """``utf-16`` (byte-order mark) or ``utf-16-le``/``-be`` (zeros on one side), else None."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    probe = data[:_PROBE]
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


def _mixed_message(data: bytes, *, bom: bool) -> str | None:
    """The refusal of a file that is UTF-8 in places (or has a UTF-8 BOM) and not elsewhere."""
    text = data.decode("utf-8", errors="surrogateescape")  # bad bytes -> U+DC80..U+DCFF
    first = _BAD_BYTE.search(text)
    if first is None or not (bom or _UTF8_FRENCH.search(text)):
        return None
    lines = _first_lines(text, _BAD_BYTE.finditer(text), _SHOWN_LINES + 1)
    shown = ", ".join(fr_int(n) for n in lines[:_SHOWN_LINES])
    more = " et d'autres" if len(lines) > _SHOWN_LINES else ""
    byte = ord(first.group()) - 0xDC00
    which = "la ligne" if len(lines) == 1 else "les lignes"
    return (
        f"Ce fichier mélange deux encodages : il est en UTF-8, sauf {which} {shown}{more}, où "
        f"se trouvent des octets d'un autre encodage (par exemple 0x{byte:02X}, « "
        f"{bytes([byte]).decode('cp1252', errors='replace')} » en Windows-1252). Le lire d'une "
        "seule façon abîmerait une partie des lettres accentuées : ouvrez-le dans votre "
        "tableur, corrigez ces lignes et enregistrez-le en « CSV UTF-8 »."
    )


def _first_lines(text: str, matches, count: int) -> list[int]:
    """The first ``count`` distinct line numbers (from 1) of the matches, in one pass."""
    lines: list[int] = []
    line, last = 1, 0
    for match in matches:
        line += text.count("\n", last, match.start())
        last = match.start()
        if not lines or lines[-1] != line:
            lines.append(line)
            if len(lines) == count:
                break
    return lines


def _single_byte(data: bytes) -> tuple[str, str]:
    """Text and label of the single-byte encoding the bytes were written in.

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
    mac, windows, iso = _evidence(data)
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("mac_roman"), "MacRoman"
    if mac >= _EVIDENCE and mac > windows:
        return data.decode("mac_roman"), "MacRoman"
    if iso >= _EVIDENCE and not _C1_RANGE.search(data):
        return data.decode("iso8859_15"), "ISO-8859-15"
    if text == data.decode("iso8859_15"):
        return text, "Windows-1252 (identique à ISO-8859-15 pour ce fichier)"
    return text, "Windows-1252"


def _evidence(data: bytes) -> tuple[int, int, int]:
    """Bytes inside words pointing to MacRoman, to Windows-1252, to ISO-8859-15."""
    mac = windows = iso = 0
    for match in itertools.islice(_HIGH_BYTE.finditer(data), _SCORED_CHARACTERS):
        byte, at = match.group()[0], match.start()
        before = _word_byte(data[at - 1 : at])
        after = _word_byte(data[at + 1 : at + 2])
        if byte in _MAC_LETTERS:
            mac += before or after
        elif byte in _MAC_INNER_LETTERS:  # ‘ ” • Ÿ in Windows-1252: inside a word, ë î ï ü
            mac += before and after
        elif byte in _WINDOWS_WORD_BYTES or (byte >= 0xC0 and byte not in (0xD7, 0xF7)):
            windows += before or after
        if byte in _ISO_WORD_BYTES:
            iso += before or after
        elif byte == 0xA4:  # € in ISO-8859-15, ¤ in Windows-1252
            iso += data[max(0, at - 2) : at].strip()[-1:].isdigit()
    return mac, windows, iso


def _word_byte(byte: bytes) -> bool:
    """An ASCII letter, hyphen or apostrophe: the byte beside it is inside a word."""
    return byte.isalpha() or byte in (b"-", b"'")


def _checked(text: str, encoding: str) -> Decoded:
    """Refuse text holding NUL or control characters: a binary file, whatever its name."""
    sample = text[:65536]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\x0c")
    if "\x00" in sample or controls > max(8, len(sample) // 100):
        raise InputError(BINARY)
    return Decoded(text, encoding)
