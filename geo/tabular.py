"""Read a user's table (CSV or Excel) safely, and find its address or coordinate columns.

Everything happens in memory: the uploaded bytes are never written to disk. Limits are checked
before parsing; any unusable file raises :class:`~geo.errors.InputError` with a French message
for the user, and nothing else happens.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.format import fr_int

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 200
# An .xlsx is a zip: refuse archives that inflate beyond this (zip bombs).
MAX_XLSX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_XLSX_RATIO = 200
SEPARATORS = (";", ",", "\t", "|")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class Limits:
    """Size limits of an uploaded file (stated on the page)."""

    max_bytes: int = MAX_BYTES
    max_rows: int = MAX_ROWS

    def describe(self) -> str:
        """The limits in French, for the page."""
        return (
            f"{fr_int(self.max_rows)} lignes et {fr_int(self.max_bytes / (1024 * 1024))} Mo au plus"
        )


def read_table(data: bytes, filename: str, *, limits: Limits = Limits()) -> pd.DataFrame:
    """Parse an uploaded CSV or Excel file into a table of strings.

    CSV files may be ``;``, ``,``, tab or ``|`` separated, in UTF-8 (with or without BOM) or
    Windows-1252. Excel files must be .xlsx.

    Raises
    ------
    InputError
        Empty, too large, binary, undecodable, zip bomb, no column or no row.
    """
    name = (filename or "").lower()
    if not data:
        raise InputError("Le fichier est vide.")
    if len(data) > limits.max_bytes:
        raise InputError(
            f"Le fichier pèse {fr_int(len(data) / 1024)} Ko : la limite est de "
            f"{fr_int(limits.max_bytes / 1024)} Ko. Découpez-le en plusieurs fichiers."
        )
    if name.endswith(EXCEL_SUFFIXES):
        df = _read_excel(data)
    elif name.endswith(".xls"):
        raise InputError(
            "Le format Excel 97-2003 (.xls) n'est pas pris en charge : enregistrez le fichier "
            "au format .xlsx ou .csv."
        )
    elif name.endswith(TEXT_SUFFIXES) or "." not in name:
        df = _read_csv(data)
    else:
        raise InputError(
            f"Type de fichier non pris en charge ({filename!r}) : envoyez un fichier .csv ou .xlsx."
        )
    return _checked(df, limits)


def _read_csv(data: bytes) -> pd.DataFrame:
    if b"\x00" in data[:8192] or data.startswith((b"PK\x03\x04", b"%PDF", b"\x89PNG")):
        raise InputError(
            "Ce fichier n'est pas un fichier texte CSV (contenu binaire) : exportez votre "
            "tableau au format CSV ou .xlsx."
        )
    text = decode_text(data)
    if not text.strip():
        raise InputError("Le fichier ne contient aucune donnée.")
    errors = []
    for sep in separator_candidates(text):
        try:
            with warnings.catch_warnings():
                # pandas only warns when a row has more fields than the header: that row
                # would lose data, so treat it as the malformed file it is.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(
                    io.StringIO(text),
                    sep=sep,
                    index_col=False,  # extra fields are an error, never an implicit index
                    dtype=str,
                    keep_default_na=False,
                    skip_blank_lines=True,
                    on_bad_lines="error",
                )
        except (
            pd.errors.ParserError,
            pd.errors.ParserWarning,
            pd.errors.EmptyDataError,
            csv.Error,
            ValueError,
        ) as exc:
            errors.append(exc)
    raise InputError(
        "Le fichier CSV est mal formé : vérifiez qu'il a le même nombre de colonnes à chaque "
        "ligne (séparateur « ; » ou « , ») et que les guillemets sont fermés."
    ) from errors[-1]


def decode_text(data: bytes) -> str:
    """Decode CSV bytes: UTF-8 (BOM or not), else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputError(
            "Encodage du fichier non reconnu : enregistrez-le en UTF-8 ou en Windows-1252 "
            "(« CSV (séparateur : point-virgule) » dans Excel)."
        ) from exc


def separator_candidates(text: str) -> list[str]:
    """Separators to try, the one splitting the header line into most fields first.

    A header split into several fields settles the separator; a one-column header does not, so
    every separator is tried in turn.
    """
    header = next((line for line in text.splitlines() if line.strip()), "")

    def fields(sep: str) -> int:
        try:
            return len(next(csv.reader([header], delimiter=sep)))
        except (csv.Error, StopIteration):
            return 0

    ranked = sorted(SEPARATORS, key=lambda sep: -fields(sep))  # stable: ";" first on ties
    # A header split in several fields names the separator; a one-field header does not.
    return ranked[:1] if fields(ranked[0]) > 1 else ranked


def _read_excel(data: bytes) -> pd.DataFrame:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(
            "Ce fichier n'est pas un classeur Excel .xlsx valide (il a peut-être été renommé) : "
            "ouvrez-le dans votre tableur et enregistrez-le au format .xlsx ou .csv."
        ) from exc
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_XLSX_UNCOMPRESSED or total / packed > MAX_XLSX_RATIO:
        raise InputError(
            "Ce classeur se décompresse en un volume anormalement grand : il est refusé par "
            "sécurité. Enregistrez vos données au format CSV."
        )
    if "[Content_Types].xml" not in {i.filename for i in infos}:
        raise InputError("Ce fichier n'est pas un classeur Excel .xlsx valide.")
    try:
        df = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"Le classeur Excel n'a pas pu être lu ({type(exc).__name__}).") from exc
    return df.fillna("")


def _checked(df: pd.DataFrame, limits: Limits) -> pd.DataFrame:
    if df.shape[1] == 0:
        raise InputError("Le fichier ne contient aucune colonne.")
    if df.shape[1] > MAX_COLUMNS:
        raise InputError(f"Le fichier a {df.shape[1]} colonnes : {MAX_COLUMNS} au plus.")
    if len(df) == 0:
        raise InputError("Le fichier ne contient aucune ligne de données (seulement un en-tête).")
    if len(df) > limits.max_rows:
        raise InputError(
            f"Le fichier a {fr_int(len(df))} lignes : la limite est de "
            f"{fr_int(limits.max_rows)}. Découpez-le en plusieurs fichiers."
        )
    df = df.copy()
    df.columns = _unique_names(df.columns)
    return df.astype(str)


def _unique_names(columns) -> list[str]:
    out: list[str] = []
    for i, col in enumerate(columns):
        name = str(col).strip() or f"colonne {i + 1}"
        if name.startswith("Unnamed:"):
            name = f"colonne {i + 1}"
        base, n = name, 2
        while name in out:
            name, n = f"{base} ({n})", n + 1
        out.append(name)
    return out


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


def parse_coordinates(values: pd.Series) -> np.ndarray:
    """Numbers from text cells, accepting a decimal comma; unusable cells become NaN."""
    text = values.astype(str).str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


def join_address(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One address string per row from the chosen columns (blank parts skipped)."""
    missing = [c for c in columns if c not in df.columns]
    if not columns or missing:
        raise InputError(
            f"Colonnes d'adresse introuvables : {', '.join(missing) or 'aucune choisie'}."
        )
    parts = df[columns].astype(str).apply(lambda col: col.str.strip())
    return parts.apply(lambda row: " ".join(p for p in row if p), axis=1)
