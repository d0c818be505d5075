"""A table geocoded through the Géoplateforme's bulk endpoint (``POST /search/csv``).

The table is cut into chunks of :data:`CSV_CHUNK_SIZE` rows; each chunk is posted as a CSV built
in memory (only the address columns, an optional citycode column and our own row number), and
the CSV answered is read back into one row per row sent, in the order sent. A few chunks are in
flight at once (:func:`geo._parallel.ordered_map`), started under the service's quota; every
chunk of one file shares one deadline. Requests are sent by :mod:`geo.geocoder`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from typing import Literal

import pandas as pd
import requests

from geo import _http
from geo._parallel import ordered_map
from geo.errors import GeocoderError, GeocoderParseError, InputError
from geo.geocoder import CSV_PATH, DEFAULT_POLICY, GeocodeRequest, base_url, send_request

log = logging.getLogger(__name__)

CSV_CHUNK_SIZE = 2_000
CSV_TIMEOUT = (5.0, 120.0)  # a bulk chunk takes longer to answer than one search
CSV_LIMITS = _http.AnswerLimits(max_bytes=16_000_000, max_depth=0, deadline_s=180.0)
"""One chunk of 2 000 rows comes back with ~20 columns added: a few megabytes at most."""
FILE_DEADLINE_S = 900.0
"""Every chunk of one file together (10 000 rows: 5 chunks)."""
CSV_MAX_PARALLEL = 8  # chunks in flight at once, at most
CSV_RATE = 40.0
"""Bulk requests started per second at most: under the Géoplateforme's 50 a second per IP."""

# Columns appended by /search/csv that this module reads (result_score_next is optional).
CSV_RESULT_COLUMNS = (
    "latitude",
    "longitude",
    "result_label",
    "result_score",
    "result_type",
    "result_citycode",
    "result_status",
)
_ROW_COLUMN = "qpv_row"  # our own row number, sent and read back to realign the answer


def build_csv_request(
    rows: pd.DataFrame,
    address_columns: Sequence[str],
    *,
    citycode_column: str | None = None,
    url: str | None = None,
) -> GeocodeRequest:
    """The ``POST /search/csv`` request for a table (built in memory, never on disk).

    The CSV holds only the address columns, the optional citycode column and a row number
    (``qpv_row``) used to realign the answer.
    """
    columns = list(address_columns)
    if not columns:
        raise InputError("Choisissez au moins une colonne d'adresse.")
    missing = [c for c in [*columns, citycode_column] if c and c not in rows.columns]
    if missing:
        raise InputError(f"Colonne(s) absente(s) du fichier : {', '.join(map(str, missing))}.")
    sent = rows[columns + ([citycode_column] if citycode_column else [])].copy()
    sent.columns = [str(c) for c in sent.columns]
    sent.insert(0, _ROW_COLUMN, range(len(sent)))
    buffer = io.BytesIO()
    sent.to_csv(buffer, index=False, encoding="utf-8")
    data = [("columns", str(c)) for c in columns]
    if citycode_column:
        data.append(("citycode", str(citycode_column)))
    return GeocodeRequest(
        "POST",
        f"{base_url(url)}{CSV_PATH}",
        data=tuple(data),
        # Bytes, not the buffer: a retried request must send the whole file again.
        files={"data": ("adresses.csv", buffer.getvalue(), "text/csv")},
    )


def parse_csv_response(content: bytes, expected_rows: int) -> pd.DataFrame:
    """The CSV answered by ``/search/csv`` -> one row per sent row, in the order sent.

    Returns the columns ``lon``, ``lat``, ``geocodage_score``, ``geocodage_score_next``,
    ``geocodage_type``, ``geocodage_label``, ``geocodage_citycode``, ``geocodage_status``
    (missing values as NaN / None; ``geocodage_score_next`` is NaN when the service sent no
    ``result_score_next`` column). Values are passed on as sent: judging an incomplete row is
    :mod:`geo.checkfile`'s business.

    Raises
    ------
    GeocoderParseError
        Not a CSV, missing result columns, or rows lost or added.
    """
    try:
        text = content.decode("utf-8-sig")
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError):
        raise GeocoderParseError("CSV answer is not a UTF-8 CSV") from None
    missing = [c for c in (_ROW_COLUMN, *CSV_RESULT_COLUMNS) if c not in table.columns]
    if missing:
        raise GeocoderParseError(f"CSV answer lacks column(s) {missing}")
    rows = pd.to_numeric(table[_ROW_COLUMN], errors="coerce")
    if rows.isna().any() or sorted(rows.astype(int)) != list(range(expected_rows)):
        raise GeocoderParseError(
            f"CSV answer has {len(table)} rows that do not match the {expected_rows} sent"
        )
    table = table.set_index(rows.astype(int)).sort_index()

    def numbers(column: str) -> pd.Series:
        if column not in table.columns:
            return pd.Series(float("nan"), index=table.index)
        return pd.to_numeric(table[column].replace("", None), errors="coerce").astype(float)

    def texts(column: str) -> pd.Series:
        return table[column].str.strip().replace("", None)

    return pd.DataFrame(
        {
            "lon": numbers("longitude"),
            "lat": numbers("latitude"),
            "geocodage_score": numbers("result_score"),
            "geocodage_score_next": numbers("result_score_next"),
            "geocodage_type": texts("result_type"),
            "geocodage_label": texts("result_label"),
            "geocodage_citycode": texts("result_citycode"),
            "geocodage_status": texts("result_status"),
        }
    )


def geocode_csv_rows(
    rows: pd.DataFrame,
    address_columns: Sequence[str],
    *,
    citycode_column: str | None = None,
    chunk_size: int = CSV_CHUNK_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
    url: str | None = None,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = CSV_TIMEOUT,
    policy: _http.RetryPolicy = DEFAULT_POLICY,
    limits: _http.AnswerLimits = CSV_LIMITS,
    file_deadline_s: float = FILE_DEADLINE_S,
    sleep: Callable[[float], None] | None = None,
    parallel: int = 1,
    failed_chunks: Literal["raise", "rows"] = "raise",
) -> pd.DataFrame:
    """Geocode a table through the bulk endpoint, ``chunk_size`` rows per request.

    Parameters
    ----------
    rows : pandas.DataFrame
        The user's table (only the address and citycode columns are sent).
    address_columns : sequence of str
        Columns joined (by the service) into the address, e.g. ``["adresse", "commune"]``.
    citycode_column : str, optional
        Column of INSEE codes restricting each row's search to its commune.
    on_progress : callable, optional
        Called as ``on_progress(done_rows, total_rows)`` before the first and after each chunk.
    limits, file_deadline_s : optional
        Bounds of each chunk's answer (size, time) and the time for all chunks together.
    parallel : int
        Chunks in flight at once (at most :data:`CSV_MAX_PARALLEL`); their requests start at
        most :data:`CSV_RATE` a second, under the service's quota. The answer keeps the rows'
        order whatever order the chunks come back in.
    failed_chunks : {"raise", "rows"}
        What a chunk the service could not geocode gives: the error (the whole table is then
        lost), or its rows with ``geocodage_status`` « error » (« non localisée » for the
        user; the other chunks kept).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``rows``: the columns of :func:`parse_csv_response`.

    Raises
    ------
    InputError
        Missing columns; GeocoderError subclasses as for :func:`geo.geocode.geocode_address` (with
        ``failed_chunks="raise"``).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
    total = len(rows)
    if on_progress:
        on_progress(0, total)
    file_deadline = _http.Deadline(file_deadline_s)

    def geocode_chunk(start: int) -> pd.DataFrame:
        chunk = rows.iloc[start : start + chunk_size]
        request = build_csv_request(
            chunk, address_columns, citycode_column=citycode_column, url=url
        )
        sent = len(request.files["data"][1]) if request.files else 0
        try:
            content = send_request(
                request,
                session=session,
                timeout=timeout,
                policy=policy,
                # The answer repeats what was sent, then adds the result columns.
                limits=_http.AnswerLimits(
                    max_bytes=limits.max_bytes + 2 * sent,
                    max_depth=limits.max_depth,
                    deadline_s=limits.deadline_s,
                    max_redirects=limits.max_redirects,
                ),
                deadline=file_deadline,
                sleep=sleep,
            )
            part = parse_csv_response(content, len(chunk))
        except GeocoderError as exc:
            if failed_chunks == "raise":
                raise
            log.warning("geocoder bulk: a chunk of %d rows failed (%s)", len(chunk), exc)
            part = _failed_rows(len(chunk))
        part.index = chunk.index
        return part

    parts: list[pd.DataFrame] = []
    done = 0
    answers = ordered_map(
        geocode_chunk,
        range(0, total, chunk_size),
        workers=min(parallel, CSV_MAX_PARALLEL),
        rate=CSV_RATE,
    )
    for part in answers:
        parts.append(part)
        done += len(part)
        log.debug("geocoder bulk: %d/%d rows", done, total)
        if on_progress:
            on_progress(done, total)
    if not parts:
        return parse_csv_response(_empty_answer(), 0).set_axis(rows.index[:0])
    return pd.concat(parts)


def _failed_rows(count: int) -> pd.DataFrame:
    """The answer of a chunk the service could not geocode: every row « error »."""
    part = parse_csv_response(_empty_answer(), 0).reindex(range(count))
    part["geocodage_status"] = "error"
    return part


def _empty_answer() -> bytes:
    return (",".join((_ROW_COLUMN, *CSV_RESULT_COLUMNS)) + "\n").encode()
