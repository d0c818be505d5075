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

from geo import generations as perimeters
from geo.coordinates import in_france, parse_coordinates
from geo.errors import InputError
from geo.format import fr_int, fr_number
from geo.locate import Locator
from geo.precision import PRECISION_BY_TYPE
from geo.verdict import NOT_LOCATED, REASON_LABELS, STATUS_LABELS, STATUS_ORDER, and_list

GEOCODING_COLUMNS = ("lon", "lat", "geocodage_score", "geocodage_type", "geocodage_label")
VERDICT_FIELDS = ("statut", "code", "nom", "distance_m", "remarque")


_GEOCODING_SHARE = 0.9  # of the progress bar, when addresses are geocoded
_NOT_LOCATED_REASONS = {
    "not-found": "adresse introuvable",
    "skipped": "adresse vide ou trop courte",
    "error": "le service d'adresses n'a pas pu traiter cette ligne",
}

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
        + ", ".join(f"{fr_int(n)} {status}" for status, n in by_status.items() if n)
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
        statuses = columns[f"qpv_{g}_statut"]
        counts[g] = {s: int((statuses == s).sum()) for s in STATUS_ORDER}
    progress(1.0, f"Terminé : {fr_int(total)} lignes vérifiées")

    rows = _rename_clashes(table, list(added)).copy()
    for name, values in added.items():
        rows[name] = values.to_numpy() if isinstance(values, pd.Series) else values
    return CheckResult(
        rows=rows, counts=counts, geocoded=geocoded, seconds=time.perf_counter() - started
    )


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
    reason = np.select(
        [
            blank,
            ~finite,
            finite & ~inside & swapped,
            metres,
            finite & ~inside,
        ],
        [
            "coordonnées manquantes",
            "coordonnées illisibles (nombres attendus)",
            "coordonnées hors de France métropolitaine : longitude et latitude inversées ?",
            "coordonnées hors de France métropolitaine : des mètres (Lambert-93 ?) au lieu de "
            "degrés",
            "coordonnées hors de France métropolitaine",
        ],
        default="",
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
            "not_located": pd.Series(reason, index=table.index).replace("", None),
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
    doubts = []
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
    """The five ``qpv_<G>_*`` columns of one generation."""
    frame = locator.locate_many(
        located["lon"],
        located["lat"],
        generation=generation,
        precision_m=located["precision"].to_numpy(dtype=float),
        on_invalid="skip",
    )
    index = located.index
    is_located = frame["status"].notna().to_numpy()
    low_score = located["low_score"].to_numpy(dtype=bool) & is_located
    doubt = located["doubt"].to_numpy(dtype=object)
    doubtful = pd.notna(doubt) & is_located
    status = frame["status"].astype("object").map(STATUS_LABELS)
    status = status.where(~(low_score | doubtful), "incertain").where(is_located, NOT_LOCATED)

    inside = frame["n_qpv"].fillna(0).to_numpy(dtype=int) > 0
    distance = np.where(inside, 0.0, frame["distance_m"].to_numpy(dtype=float)).round(1)
    code = frame["code"].astype("object").where(is_located, None)
    name = frame["name"].astype("object").where(is_located, None)

    n_qpv = frame["n_qpv"].fillna(0).to_numpy(dtype=int)
    reason = frame["reason"].to_numpy(dtype=object)
    has_doubt = _present(doubt)
    score = located["geocodage_score"].to_numpy(dtype=float)
    contract = frame["contract"].to_numpy(dtype=object)
    near_code = frame["nearest_code"].to_numpy(dtype=object)
    near_name = frame["nearest_name"].to_numpy(dtype=object)
    # Each part of a remark is a whole column (None where it does not apply), joined by « ; »;
    # only the few rows needing a number are formatted one by one.
    parts = [
        _texts(has_doubt, lambda rows: doubt[rows]),
        _texts(
            low_score & ~np.isnan(score),  # a missing score is said by the doubt
            lambda rows: [
                f"adresse reconnue avec une faible confiance (score {fr_number(v, 2)}) : "
                "vérifiez-la"
                for v in score[rows]
            ],
        ),
        _texts(
            _present(reason) & ~((reason == "precision") & has_doubt),
            lambda rows: pd.Series(reason[rows]).map(REASON_LABELS).to_numpy(dtype=object),
        ),
        _texts(
            _present(contract), lambda rows: "quartier du contrat de ville de la " + contract[rows]
        ),
        _texts(
            (status == "hors territoire").to_numpy(dtype=bool),
            lambda rows: "en dehors du territoire couvert par les données",
        ),
        _texts(
            n_qpv > 1, lambda rows: [f"dans {n} quartiers qui se chevauchent" for n in n_qpv[rows]]
        ),
        _texts(
            ~inside & _present(near_code),
            lambda rows: [  # one f-string per row: twice as fast as four object-array sums
                f"quartier le plus proche : {name} ({code})"
                for name, code in zip(near_name[rows], near_code[rows], strict=True)
            ],
        ),
    ]
    remarks = np.full(len(index), None, dtype=object)
    for part in parts:
        has_part, has_remark = _present(part), _present(remarks)
        both = has_part & has_remark
        remarks[both] = remarks[both] + " ; " + part[both]
        remarks[has_part & ~has_remark] = part[has_part & ~has_remark]
    why = located["not_located"].to_numpy(dtype=object)
    why = np.where(_present(why), why, "point inutilisable")
    remarks = np.where(is_located, remarks, why)

    prefix = f"qpv_{generation}_"
    return {
        prefix + "statut": pd.Series(status.to_numpy(), index=index, dtype="object"),
        prefix + "code": pd.Series(code.to_numpy(), index=index, dtype="object"),
        prefix + "nom": pd.Series(name.to_numpy(), index=index, dtype="object"),
        prefix + "distance_m": pd.Series(np.where(is_located, distance, np.nan), index=index),
        prefix + "remarque": pd.Series(remarks, index=index, dtype="object"),
    }


def _present(values: np.ndarray) -> np.ndarray:
    """Where an object column holds a value (a text here): not None, NaN or NA."""
    return ~pd.isna(values)


def _texts(mask: np.ndarray, make: Callable[[np.ndarray], object]) -> np.ndarray:
    """An object column holding ``make(rows)`` where ``mask`` holds, None elsewhere."""
    out = np.full(len(mask), None, dtype=object)
    rows = np.flatnonzero(mask)
    if rows.size:
        out[rows] = make(rows)
    return out


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
