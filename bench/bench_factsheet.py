"""Benchmark: the « dossier de séance » against one quartier's sheet, measured in the same run.

The dossier of the default view is the territory's overview page, then the 21 quartiers of the
contract, one page each (``geo.factsheet.dossier_pdf``). Baselines: one quartier's sheet
(``factsheet_pdf``), and the 21 sheets made one by one, which is what the dossier would cost if
it did not draw the shared pieces (fonts, base map, tables) once.

Run: ``python bench/bench_factsheet.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import report, timed
from geo.build import ensure_built
from geo.factsheet import dossier_pdf, factsheet_pdf
from geo.store import load_dataset
from geo.territory import DEFAULT_TERRITORY
from support import default_mirror

GENERATION = 2015  # the map's default view
MADE_ON = date(2026, 1, 5)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args(argv)

    ensure_built(DEFAULT_TERRITORY, mirror=default_mirror(), allow_download=False)
    data = load_dataset(DEFAULT_TERRITORY)
    codes = list(data.qpv_of(GENERATION, include_neighbouring=False)["code"])
    first = codes[0]
    factsheet_pdf(data, first, made_on=MADE_ON)  # imports, fonts and caches warmed

    single = timed(lambda: factsheet_pdf(data, first, made_on=MADE_ON), repeat=args.repeat)
    dossier = timed(
        lambda: dossier_pdf(data, codes, generation=GENERATION, made_on=MADE_ON),
        repeat=args.repeat,
    )
    one_by_one = timed(
        lambda: [factsheet_pdf(data, code, made_on=MADE_ON) for code in codes], repeat=1
    )
    pages = len(codes) + 1
    return [
        report(
            f"dossier de séance, {pages} pages (overview + {len(codes)} quartiers)",
            dossier,
            "s",
            baseline=single,
            baseline_name="one quartier's sheet (1 page)",
            target="< 10 s",
        ),
        report(
            f"dossier de séance, {pages} pages",
            dossier,
            "s",
            baseline=one_by_one,
            baseline_name=f"the {len(codes)} quartier sheets made one by one",
        ),
        report(
            "dossier de séance, time per page",
            dossier / pages,
            "s",
            baseline=single,
            baseline_name="one quartier's sheet (1 page)",
        ),
    ]


if __name__ == "__main__":
    main()
