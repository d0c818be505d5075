"""The command-line commands, one pair of functions each: add arguments, run.

Kept apart from ``__main__`` so tests can call them in-process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from geo import fetch
from geo.build import build
from geo.errors import QPVError
from geo.format import fr_int, fr_number
from geo.sources import DATASETS
from geo.store import load_dataset
from geo.territory import DEFAULT_TERRITORY

HELP = {
    "build": "construire les tables préparées (data/processed)",
    "info": "rapport de construction, millésimes et chiffres clés du territoire",
}


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--territory", default=DEFAULT_TERRITORY, metavar="SIREN",
        help="SIREN de l'EPCI (défaut : CA de Lens-Liévin, 246200364)",
    )  # fmt: skip


def add_build(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument(
        "--mirror", metavar="DIR",
        help="dossier miroir des fichiers officiels (défaut : variable QPV_DATA_MIRROR)",
    )  # fmt: skip
    parser.add_argument(
        "--offline", action="store_true", help="ne rien télécharger (cache et miroir seulement)"
    )


def run_build(args: argparse.Namespace) -> int:
    try:
        mirror = fetch.resolve_mirror(args.mirror)
        result = build(
            args.territory,
            mirror=mirror,
            allow_download=not args.offline,
            progress=fetch.cli_progress(sys.stderr),
            log=lambda msg: print(msg, file=sys.stderr),
        )
    except QPVError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    print(format_report(result.report))
    print(f"\nTables écrites dans {result.out_dir} en {result.seconds:.1f} s".replace(".", ","))
    return 0


def add_info(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--json", action="store_true", help="rapport complet en JSON")


def run_info(args: argparse.Namespace) -> int:
    try:
        data = load_dataset(args.territory)
    except QPVError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data.report, ensure_ascii=False, indent=1))
        return 0
    print(format_report(data.report))
    print("\nMillésimes des sources :")
    used = {v["source"] for v in data.report["sources"].values()}
    for ds in DATASETS.values():
        if any(src.startswith(ds.key) or src == ds.key for src in used) or ds.key in used:
            print(f"- {ds.title} : {ds.vintage} ({ds.producer})")
    return 0


def format_report(report: dict) -> str:
    """The build report as French text: headline figures, repairs, flags, notes."""
    t, c = report["territory"], report["counts"]
    c15, c24 = c["2015"], c["2024"]
    lines = [
        f"Territoire : {t['name']} (SIREN {t['siren']})",
        f"Communes : {c['communes']} (population municipale 2023 : {fr_int(c['population_2023'])})",
        f"QPV 2015 du contrat : {c15['contract']} dans {c15['communes_with_qpv']} communes, "
        f"{fr_int(c15['population'])} habitants en {c15['population_year']} "
        f"({c15['attributed']} attribués par l'Insee, {c15['neighbouring']} voisin(s), "
        f"{c15['shared']} partagé(s) avec un autre EPCI)",
        f"QPV 2024 : {c24['contract']} dans {c24['communes_with_qpv']} communes, "
        f"{fr_int(c24['population'])} habitants (année non précisée par la source) "
        f"({c24['attributed']} attribués, {c24['neighbouring']} voisin(s), "
        f"{c24['shared']} partagé(s))",
        f"Géométries réparées : {len(report['repaired'])}",
    ]
    lines += [f"  - {r['code']} ({r['generation']}) : {r['reason']}" for r in report["repaired"]]
    lines.append(f"Valeurs signalées (manquantes ou implausibles) : {len(report['flags'])}")
    lines += [
        f"  - {f['code']} {f['column']} : {f['reason']}"
        + ("" if f["value"] is None else f" ({fr_number(f['value'], 2)})")
        for f in report["flags"]
    ]
    lines += [f"Note : {n}" for n in report["notes"]]
    return "\n".join(lines)


COMMANDS = {
    "build": (add_build, run_build),
    "info": (add_info, run_info),
}


def _path(value: str) -> Path:
    return Path(value)
