"""Benchmark: a 10 000-row address file checked end to end, against a local stand-in.

The file (CSV bytes, ``;``-separated, as a user would upload it) goes through
:func:`geo.tabular.read_table` then :func:`geo.checkfile.check_table`: bulk geocoding through the
``/search/csv`` endpoint of the Géoplateforme stand-in (``support/fake_geoplateforme.py``) and both
generations of perimeters. The stand-in answers with a realistic delay: a fixed latency per request
(``--latency``, default 50 ms) plus a time per address (``--per-row-ms``, default 0.2 ms, about
what the public bulk endpoint takes).

Baseline, in the same run and against the same server: one ``GET /search`` per row then one
``Locator.locate`` per generation, timed on a sample (``--sample`` rows) and extrapolated.

Reported: rows per second and HTTP requests made, for both.

Run: ``python bench/bench_file_check.py [--rows 10000] [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import report
from geo import _http, generations, geocode, geocode_bulk
from geo.checkfile import check_table
from geo.locate import build_locator
from geo.store import load_dataset
from geo.tabular import Limits, read_table
from support import default_mirror
from support.fake_geoplateforme import FakeGeoplateforme, load_addresses

REPO = Path(__file__).resolve().parent.parent


class TimedGeoplateforme(FakeGeoplateforme):
    """The Géoplateforme stand-in, spending ``per_row_s`` on every address it looks up."""

    def __init__(self, *args, per_row_s: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.per_row_s = per_row_s
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every request on a kept-alive connection.
        self._server.RequestHandlerClass.disable_nagle_algorithm = True

    def search(self, q: str, *, limit: int = 5, citycode: str | None = None) -> list[tuple]:
        if self.per_row_s:
            time.sleep(self.per_row_s)
        return super().search(q, limit=limit, citycode=citycode)


def address_file(addresses, rows: int) -> bytes:
    """A user's CSV: an id, a street line and a town, addresses cycling through the table."""
    lines = ["id;adresse;commune"]
    for i in range(rows):
        a = addresses[i % len(addresses)]
        street, _, rest = a.label.partition(" (")
        lines.append(f"{i + 1};{a.housenumber or 1} {a.name} ({rest};{street}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=None, help="rows of the per-row baseline")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--per-row-ms", type=float, default=0.2, help="milliseconds per address")
    parser.add_argument("--quick", action="store_true", help="smaller baseline sample")
    args = parser.parse_args(argv)
    sample = args.sample or (50 if args.quick else 200)

    dataset = load_dataset()
    locator = build_locator(dataset)
    addresses = load_addresses(default_mirror())
    data = address_file(addresses, args.rows)
    print(
        f"{args.rows} rows ({len(data) / 1e6:.2f} MB), stand-in latency {args.latency * 1000:g} ms"
        f" + {args.per_row_ms:g} ms/row, {len(addresses)} distinct test addresses"
    )
    results = []
    per_row_s = args.per_row_ms / 1000
    with TimedGeoplateforme(addresses, latency=args.latency, per_row_s=per_row_s) as service:
        # The pipeline of the "Vérifier un fichier" page.
        start = time.perf_counter()
        table = read_table(data, "adresses.csv", limits=Limits(max_rows=max(args.rows, 10_000)))
        result = check_table(
            table, locator, address_columns=["adresse", "commune"], geocoder_url=service.url
        )
        pipeline_s = time.perf_counter() - start
        requests_made = service.count()
        located = result.located
        statuses = result.rows[f"qpv_{generations.PREVIOUS}_statut"].value_counts().to_dict()
        print(f"pipeline: {located}/{result.total} rows located; 2015 statuses {statuses}")
        assert located == args.rows, f"only {located} of {args.rows} rows were located"

        # Baseline: one request per row, one verdict per row and generation.
        service.requests.clear()
        session = _http.make_session()
        rows = table.head(sample)
        start = time.perf_counter()
        agree = 0
        try:
            for i, row in enumerate(rows.itertuples(index=False)):
                answer = geocode.geocode_address(
                    f"{row.adresse} {row.commune}", url=service.url, session=session
                )
                best = answer.best
                verdicts = {
                    g: locator.locate(best.lon, best.lat, generation=g, result_type=best.type)
                    for g in generations.ORDER
                }
                expected = result.rows.iloc[i][f"qpv_{generations.PREVIOUS}_code"]
                got = verdicts[generations.PREVIOUS].codes
                agree += (expected in got) if isinstance(expected, str) else not got
        finally:
            session.close()
        per_row_s = (time.perf_counter() - start) / sample
        baseline_requests = service.count() / sample * args.rows
        print(f"baseline: {agree}/{sample} rows give the pipeline's 2015 quartier")

    results.append(
        report(
            f"file check, {args.rows} addresses end to end",
            args.rows / pipeline_s,
            "rows/s",
            baseline=1 / per_row_s,
            baseline_name=f"one request per row (timed on {sample} rows, extrapolated)",
            target=">= 1 000 rows/s",
        )
    )
    results.append(
        report(
            f"file check, {args.rows} addresses: HTTP requests",
            requests_made,
            "requests",
            baseline=baseline_requests,
            baseline_name="one request per row",
            target=f"<= {-(-args.rows // geocode_bulk.CSV_CHUNK_SIZE)} requests",
        )
    )
    results.append(
        report(
            f"file check, {args.rows} addresses: wall time",
            pipeline_s,
            "s",
            baseline=per_row_s * args.rows,
            baseline_name="one request per row, extrapolated",
            target="< 15 s",
        )
    )
    return results


if __name__ == "__main__":
    main()
