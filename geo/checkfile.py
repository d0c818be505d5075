"""Check a whole table: geocode (or read coordinates), classify against both perimeters, annotate.

The pipeline behind the "Vérifier un fichier" page and ``python -m geo check``: given a table read
by :func:`geo.tabular.read_table`, either

* longitude/latitude columns are read (decimal comma accepted): nothing leaves the machine; or
* address columns are geocoded in bulk by the address service of the Géoplateforme
  (:func:`geo.geocode_bulk.geocode_csv_rows`, in chunks), and the precision of each result follows
  its type (house number or street...);

then every located row is classified by :meth:`geo.locate.Locator.locate_many` for each
generation. The same rows come back with these columns added:

``lon``, ``lat``
    WGS84 degrees of the point used (missing when the row could not be located).
``geocodage_score``, ``geocodage_type``, ``geocodage_label``
    The address service's answer (missing when coordinates were given).
``qpv_<G>_statut`` for G in 2024 then 2015
    ``dans``, ``hors``, ``incertain``, ``hors territoire`` or ``non localisée`` (no usable
    point: never "hors").
``qpv_<G>_code``, ``qpv_<G>_nom``
    The quartier whose perimeter contains the point (missing otherwise).
``qpv_<G>_distance_m``
    Distance to the nearest quartier in metres, 0 inside one.
``qpv_<G>_remarque``
    Why a row is "incertain" (near a limit, imprecise, incomplete or ambiguous answer of the
    address service) or "non localisée", the nearest quartier of a row "hors", the contract of a
    neighbour's quartier (« quartier du contrat de ville de la CA d'Hénin-Carvin »).

Addresses are personal data: nothing here logs or stores them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo import generations as perimeters
from geo.coordinates import in_france, parse_coordinates
from geo.errors import InputError
from geo.format import fr_int, fr_number
from geo.locate import Locator
from geo.precision import PRECISION_BY_TYPE
from geo.verdict import (
    NOT_LOCATED,
    REASON_LABELS,
    STATUS_LABELS,
    STATUS_ORDER,
    and_list,
    status_count,
)

GEOCODING_COLUMNS = ("lon", "lat", "geocodage_score", "geocodage_type", "geocodage_label")
VERDICT_FIELDS = ("statut", "code", "nom", "distance_m", "remarque")


_GEOCODING_SHARE = 0.9  # of the progress bar, when addresses are geocoded
_NOT_LOCATED_REASONS = {
    "not-found": "adresse introuvable",
    "skipped": "adresse vide ou trop courte",
    "error": "le service d'adresses n'a pas pu traiter cette ligne",
}

# Why a row's coordinates give no point, in the order of _read_lonlat's tests; None: they do.
_UNUSABLE_POINT = np.array(
    [
        "coordonnées manquantes",
        "coordonnées illisibles (nombres attendus)",
        "coordonnées hors de France métropolitaine : longitude et latitude inversées ?",
        "coordonnées hors de France métropolitaine : des mètres (Lambert-93 ?) au lieu de degrés",
        "coordonnées hors de France métropolitaine",
        None,
    ],
    dtype=object,
)

ProgressCallback = Callable[[float, str], None]


def verdict_columns(generation: int) -> list[str]:
    """Names of the columns added for one generation (``qpv_2024_statut``...)."""
    return [f"qpv_{generation}_{name}" for name in VERDICT_FIELDS]


def added_columns(generations: Iterable[int] = perimeters.ORDER) -> list[str]:
    """Every column :func:`check_table` adds, in order."""
    return [*GEOCODING_COLUMNS, *(c for g in generations for c in verdict_columns(g))]


# --------------------------------------------------------------------------------------------
# The table pipeline


@dataclass(frozen=True)
class CheckResult:
    """The annotated rows of a checked table and their counts per status.

    ``counts[generation][status]`` holds every status of ``STATUS_ORDER`` (zeros included);
    ``geocoded`` tells whether addresses were sent to the address service.
    """

    rows: pd.DataFrame
    counts: dict[int, dict[str, int]]
    geocoded: bool
    seconds: float

    @property
    def total(self) -> int:
        """Number of rows checked."""
        return len(self.rows)

    @property
    def located(self) -> int:
        """Rows with a usable point."""
        return int(self.rows["lon"].notna().sum())

    def summary_lines(self) -> list[str]:
        """One French line per generation: ``Périmètres 2024 (en vigueur) : 3 dans, ...``."""
        return summary_lines(self.counts)


def summary_lines(counts: dict[int, dict[str, int]]) -> list[str]:
    """One French line per generation of ``counts[generation][status]`` (zeros left out)."""
    return [
        f"{perimeters.NAMES[g]} : "
        + ", ".join(status_count(n, status) for status, n in by_status.items() if n)
        for g, by_status in counts.items()
    ]


def check_table(
    table: pd.DataFrame,
    locator: Locator,
    *,
    address_columns: Sequence[str] | None = None,
    lonlat_columns: tuple[str, str] | None = None,
    citycode_column: str | None = None,
    generations: Sequence[int] = perimeters.ORDER,
    on_progress: ProgressCallback | None = None,
    geocoder_url: str | None = None,
    chunk_size: int | None = None,
    timeout: float | tuple[float, float] | None = None,
    parallel: int = 1,
    failed_chunks: Literal["raise", "rows"] = "raise",
) -> CheckResult:
    """Locate every row of ``table`` and say, for each generation, whether it is in a QPV.

    Parameters
    ----------
    table : pandas.DataFrame
        The user's rows (as read by :func:`geo.tabular.read_table`: text cells).
    locator : Locator
        See :func:`geo.locate.build_locator`.
    address_columns : sequence of str, optional
        Columns joined into each row's address, geocoded by the address service.
    lonlat_columns : (str, str), optional
        Longitude and latitude columns in WGS84 degrees: no geocoding at all. Exactly one of
        ``address_columns`` and ``lonlat_columns`` must be given.
    citycode_column : str, optional
        INSEE code column restricting each address to its commune (addresses only).
    on_progress : callable, optional
        ``on_progress(fraction, message)`` with a fraction in [0, 1] and a French message.
    geocoder_url, chunk_size, timeout : optional
        Address service root (default ``$QPV_GEOCODER_URL`` or the Géoplateforme's), rows per
        request and (connect, read) timeout per request (defaults of
        :func:`geo.geocode_bulk.geocode_csv_rows`).
    parallel, failed_chunks : optional
        Chunks of addresses in flight at once, and what a chunk the service could not geocode
        gives (see :func:`geo.geocode_bulk.geocode_csv_rows`: the error, or « non localisée » rows).

    Returns
    -------
    CheckResult
        The rows in input order, with the columns of :func:`added_columns` after the user's
        own (a user column already bearing one of those names is renamed ``<name> (fichier)``).

    Raises
    ------
    InputError
        Columns missing or not chosen, both or neither mode chosen (French message).
    GeocoderError
        The address service failed (see :func:`geo.geocoder.user_message`); nothing is
        returned.
    """
    started = time.perf_counter()
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(table).__name__}")
    if (address_columns is None) == (lonlat_columns is None):
        raise InputError(
            "Choisissez soit les colonnes de l'adresse, soit les colonnes de longitude et de "
            "latitude."
        )
    progress = on_progress or (lambda fraction, message: None)
    total = len(table)
    if lonlat_columns is not None:
        geocoded = False
        located = _read_lonlat(table, lonlat_columns)
        share = 0.0
    else:
        geocoded = True
        located = _geocode(
            table,
            list(address_columns or ()),
            citycode_column=citycode_column,
            progress=progress,
            url=geocoder_url,
            chunk_size=chunk_size,
            timeout=timeout,
            parallel=parallel,
            failed_chunks=failed_chunks,
        )
        share = _GEOCODING_SHARE

    added = {name: located[name] for name in GEOCODING_COLUMNS}
    counts: dict[int, dict[str, int]] = {}
    for step, g in enumerate(generations):
        progress(
            share + (1 - share) * step / len(generations),
            f"Comparaison aux périmètres {g} : {fr_int(total)} lignes",
        )
        columns = _classify(locator, located, g)
        added.update(columns)
        found = columns[f"qpv_{g}_statut"].value_counts()
        counts[g] = {s: int(found.get(s, 0)) for s in STATUS_ORDER}
    progress(1.0, f"Terminé : {fr_int(total)} lignes vérifiées")

    rows = _rename_clashes(table, list(added))
    new = pd.DataFrame(
        {name: _as_added(values) for name, values in added.items()}, index=rows.index
    )
    # Joined without copying the user's cells (copy on write: the caller's frame is unchanged).
    rows = pd.concat([rows, new], axis=1)
    return CheckResult(
        rows=rows, counts=counts, geocoded=geocoded, seconds=time.perf_counter() - started
    )


def _as_added(values: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """An added column as the result holds it: a pandas text column as it is (no Python
    objects), any other by its values, of the dtype pandas infers from them."""
    if not isinstance(values, pd.Series) or isinstance(values.dtype, pd.StringDtype):
        return values
    return values.to_numpy()


def _require_columns(table: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [str(c) for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"Colonne(s) absente(s) du fichier : {', '.join(missing)}.")


def _read_lonlat(table: pd.DataFrame, lonlat_columns: tuple[str, str]) -> pd.DataFrame:
    """Points from text columns, with a French reason for every row that has none."""
    if len(lonlat_columns) != 2 or lonlat_columns[0] == lonlat_columns[1]:
        raise InputError("Choisissez deux colonnes différentes pour la longitude et la latitude.")
    _require_columns(table, lonlat_columns)
    lon_text = table[lonlat_columns[0]].astype(str).str.strip()
    lat_text = table[lonlat_columns[1]].astype(str).str.strip()
    lon = parse_coordinates(lon_text)
    lat = parse_coordinates(lat_text)
    blank = (lon_text == "").to_numpy() | (lat_text == "").to_numpy()
    finite = np.isfinite(lon) & np.isfinite(lat)
    inside = in_france(lon, lat)
    swapped = in_france(lat, lon)
    metres = finite & (np.abs(lon) > 1_000) & (np.abs(lat) > 1_000)
    # The first reason that applies, as a code into UNUSABLE_POINT (-1: none, its last item).
    reason = np.select(
        [blank, ~finite, finite & ~inside & swapped, metres, finite & ~inside],
        np.arange(len(_UNUSABLE_POINT) - 1),
        default=-1,
    )
    usable = finite & inside
    missing = pd.Series(pd.NA, index=table.index, dtype="object")
    return pd.DataFrame(
        {
            "lon": np.where(usable, lon, np.nan),
            "lat": np.where(usable, lat, np.nan),
            "geocodage_score": np.nan,
            "geocodage_type": missing,
            "geocodage_label": missing,
            "precision": 0.0,
            "low_score": False,
            "not_located": pd.Series(_UNUSABLE_POINT[reason], index=table.index, dtype=object),
            "doubt": missing,
        },
        index=table.index,
    )


def _geocode(
    table: pd.DataFrame,
    columns: list[str],
    *,
    citycode_column: str | None,
    progress: ProgressCallback,
    url: str | None,
    chunk_size: int | None,
    timeout: float | tuple[float, float] | None,
    parallel: int,
    failed_chunks: Literal["raise", "rows"],
) -> pd.DataFrame:
    # Imported here: the address service's modules bring in requests (~0.1 s), which a file
    # of coordinates, checked without sending anything, does not need.
    from geo.geocode import LOW_SCORE
    from geo.geocode_bulk import geocode_csv_rows

    if not columns:
        raise InputError("Choisissez au moins une colonne d'adresse.")
    _require_columns(table, [*columns, *([citycode_column] if citycode_column else [])])

    def geocoding_progress(done: int, total: int) -> None:
        progress(
            _GEOCODING_SHARE * done / max(total, 1),
            f"Géocodage des adresses : {fr_int(done)} sur {fr_int(total)}",
        )

    kwargs: dict = {"parallel": parallel, "failed_chunks": failed_chunks}
    if chunk_size:
        kwargs["chunk_size"] = chunk_size
    if timeout is not None:
        kwargs["timeout"] = timeout
    answer = geocode_csv_rows(
        table,
        columns,
        citycode_column=citycode_column,
        on_progress=geocoding_progress,
        url=url,
        **kwargs,
    )
    lon = answer["lon"].to_numpy(dtype=float)
    lat = answer["lat"].to_numpy(dtype=float)
    status = answer["geocodage_status"]
    score = answer["geocodage_score"]
    kind = answer["geocodage_type"]
    # A row is located only when the service says so ("ok") with a position; an error,
    # not-found or skipped row is not located even if it carries coordinates.
    refused = status.isin(list(_NOT_LOCATED_REASONS)).to_numpy()
    found = np.isfinite(lon) & np.isfinite(lat) & ~refused
    usable = found & in_france(lon, lat)
    reason = status.map(_NOT_LOCATED_REASONS).where(~found, None)
    reason = reason.where(found | reason.notna(), "adresse introuvable")
    reason = reason.where(~found | usable, "adresse hors de France métropolitaine")
    # Street, locality and municipality results are a whole street, place or commune: their
    # precision is infinite (no verdict can rest on them). An unknown or missing type is alike.
    precision = kind.map(PRECISION_BY_TYPE).astype(float).fillna(math.inf)
    return pd.DataFrame(
        {
            "lon": np.where(usable, lon, np.nan),
            "lat": np.where(usable, lat, np.nan),
            "geocodage_score": score,
            "geocodage_type": kind,
            "geocodage_label": answer["geocodage_label"],
            "precision": precision.where(usable, 0.0),
            # A missing score is no evidence either: treated like a low one.
            "low_score": usable & ~(score >= LOW_SCORE).to_numpy(),
            "not_located": reason,
            "doubt": _doubts(answer).where(usable, None),
        },
        index=table.index,
    )


def _doubts(answer: pd.DataFrame) -> pd.Series:
    """Why a located row cannot be trusted as sent (French), or None: incomplete or ambiguous."""
    from geo.geocode import AMBIGUITY_GAP  # with the address service only (see _geocode)

    score, following = answer["geocodage_score"], answer["geocodage_score_next"]
    status, kind = answer["geocodage_status"], answer["geocodage_type"]
    ambiguous = (score - following <= AMBIGUITY_GAP) & score.notna() & following.notna()
    rows = zip(score, following, status, kind, ambiguous, strict=True)
    doubts: list[str | None] = []
    for value, other, said, result_type, close in rows:
        missing = [
            name
            for name, absent in (
                ("statut", said != "ok"),
                ("score", not math.isfinite(value)),
                ("type de résultat", result_type not in PRECISION_BY_TYPE),
            )
            if absent
        ]
        if missing:
            doubts.append(
                "réponse incomplète du service d'adresses "
                f"({and_list(missing)} : absent ou inattendu)"
            )
        elif close:
            doubts.append(
                "autre adresse presque aussi probable (scores "
                f"{fr_number(value, 2)} et {fr_number(other, 2)}) : vérifiez-la"
            )
        else:
            doubts.append(None)
    return pd.Series(doubts, index=answer.index, dtype="object")


def _classify(locator: Locator, located: pd.DataFrame, generation: int) -> dict[str, pd.Series]:
    """The five ``qpv_<G>_*`` columns of one generation.

    Column by column, never row by row: a text column is a small array of labels taken by one
    code per row (statuses, quartiers), and a remark joins whole columns of parts in Arrow;
    only the rare parts holding a number of their own are formatted one by one.
    """
    frame = locator.locate_many(
        located["lon"],
        located["lat"],
        generation=generation,
        precision_m=located["precision"].to_numpy(dtype=float),
        on_invalid="skip",
    )
    index = located.index
    found = frame["status"].cat
    is_located = found.codes.to_numpy() >= 0
    low_score = located["low_score"].to_numpy(dtype=bool) & is_located
    doubt = located["doubt"].to_numpy(dtype=object)
    has_doubt = _present(doubt)
    labels = [*(STATUS_LABELS[s] for s in found.categories), "incertain", NOT_LOCATED]
    state = np.where(low_score | (has_doubt & is_located), len(labels) - 2, found.codes)
    state = np.where(is_located, state, len(labels) - 1)

    inside = frame["n_qpv"].fillna(0).to_numpy(dtype=int) > 0
    distance = np.where(inside, 0.0, frame["distance_m"].to_numpy(dtype=float)).round(1)
    code, name = (_located_codes(frame[c], is_located) for c in ("code", "name"))

    n_qpv = frame["n_qpv"].fillna(0).to_numpy(dtype=int)
    reason = frame["reason"].cat
    reason_codes = reason.codes.to_numpy()
    precision_reason = list(reason.categories).index("precision")
    score = located["geocodage_score"].to_numpy(dtype=float)
    near_code, near_name = (frame[c].cat for c in ("nearest_code", "nearest_name"))
    near = ~inside & (near_code.codes.to_numpy() >= 0)
    # Each part of a remark is a whole column (null where it does not apply), joined by « ; ».
    parts = [
        _texts(doubt, has_doubt),
        _formatted(
            low_score & ~np.isnan(score),  # a missing score is said by the doubt
            lambda rows: [
                f"adresse reconnue avec une faible confiance (score {fr_number(v, 2)}) : "
                "vérifiez-la"
                for v in score[rows]
            ],
        ),
        _labelled(
            [REASON_LABELS.get(r) for r in reason.categories],
            np.where((reason_codes == precision_reason) & has_doubt, -1, reason_codes),
        ),
        _joined(
            "quartier du contrat de ville de la ",
            _texts(frame["contract"].to_numpy(dtype=object)),
        ),
        _labelled(
            ["en dehors du territoire couvert par les données"],
            np.where(state == labels.index("hors territoire"), 0, -1),
        ),
        _formatted(
            n_qpv > 1, lambda rows: [f"dans {n} quartiers qui se chevauchent" for n in n_qpv[rows]]
        ),
        _joined(
            "quartier le plus proche : ",
            _labelled(list(near_name.categories), np.where(near, near_name.codes, -1)),
            " (",
            _labelled(list(near_code.categories), np.where(near, near_code.codes, -1)),
            ")",
        ),
    ]
    remarks = pa.nulls(len(index), pa.large_string())
    for part in parts:
        if part is None or part.null_count == len(part):
            continue
        if remarks.null_count == len(remarks):
            remarks = part
        else:
            joined = pc.binary_join_element_wise(remarks, part, _large(" ; "))
            remarks = pc.coalesce(joined, remarks, part)
    why = pc.fill_null(_texts(located["not_located"].to_numpy(dtype=object)), "point inutilisable")
    remarks = pc.if_else(pa.array(is_located), remarks, why)

    prefix = f"qpv_{generation}_"
    return {
        prefix + "statut": _column(_labelled(labels, state), index),
        prefix + "code": _column(code, index, nan=is_located),
        prefix + "nom": _column(name, index, nan=is_located),
        prefix + "distance_m": pd.Series(np.where(is_located, distance, np.nan), index=index),
        prefix + "remarque": _column(remarks, index),
    }


def _present(values: np.ndarray) -> np.ndarray:
    """Where an object column holds a value (a text here): not None, NaN or NA."""
    return ~pd.isna(values)


def _large(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _texts(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """An object column of texts as Arrow, null where missing (or outside ``mask``)."""
    if mask is not None:
        values = np.where(mask, values, np.array(None, dtype=object))
    return pa.array(values, pa.large_string(), from_pandas=True)


def _labelled(labels: Sequence[str | None], codes: np.ndarray) -> pa.Array:
    """``labels[code]`` for each row, null where the code is negative (or the label None)."""
    codes = np.asarray(codes, dtype=np.int64)
    return pc.take(pa.array(labels, pa.large_string()), pa.array(codes, mask=codes < 0))


def _located_codes(values: pd.Series, is_located: np.ndarray) -> pa.Array:
    """A categorical column of the located rows as Arrow texts (null elsewhere)."""
    codes = np.where(is_located, values.cat.codes.to_numpy(), -1)
    return _labelled([str(c) for c in values.cat.categories], codes)


def _formatted(mask: np.ndarray, make: Callable[[np.ndarray], list[str]]) -> pa.Array | None:
    """Texts ``make(rows)`` where ``mask`` holds (few rows), null elsewhere; None if none."""
    rows = np.flatnonzero(mask)
    if not rows.size:
        return None
    out = np.full(len(mask), None, dtype=object)
    out[rows] = make(rows)
    return _texts(out)


def _joined(*pieces: str | pa.Array) -> pa.Array:
    """Texts and columns joined row by row; null where any column is null."""
    return pc.binary_join_element_wise(
        *(_large(p) if isinstance(p, str) else p for p in pieces), _large("")
    )


def _column(texts: pa.Array, index: pd.Index, nan: np.ndarray | None = None) -> pd.Series:
    """A pandas text column (``str``), as pandas infers it from Python texts: only missing
    values give an ``object`` column, of None (NaN in the ``nan`` rows, as a categorical's
    missing values read as objects)."""
    if texts.null_count == len(texts):
        values = np.full(len(texts), None, dtype=object)
        if nan is not None:
            values[nan] = np.nan
        return pd.Series(values, index=index, dtype="object")
    return pd.Series(texts, index=index, dtype="str")


def _rename_clashes(table: pd.DataFrame, added: list[str]) -> pd.DataFrame:
    """The user's columns, those named like an added column renamed ``<name> (fichier)``."""
    taken = set(table.columns) | set(added)
    renames = {}
    for column in table.columns:
        if column in added:
            new, n = f"{column} (fichier)", 2
            while new in taken:
                new, n = f"{column} (fichier {n})", n + 1
            renames[column] = new
            taken.add(new)
    return table.rename(columns=renames) if renames else table
