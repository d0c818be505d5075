"""The command-line commands, one pair of functions each: add arguments, run.

Kept apart from ``__main__`` (the parser, and what happens to unexpected errors) so tests can
call them in-process. Every expected failure prints « Erreur : … » in French on stderr and
returns 1; results go to stdout, progress and notes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from geo import generations
from geo.checkfile import check_table
from geo.checkstream import check_csv_file
from geo.coordinates import parse_degrees
from geo.errors import GeocoderError, InputError, QPVError, os_reason_fr
from geo.export import excel_cut_note, to_csv_fr, to_excel
from geo.files import check_output, write_atomically
from geo.format import fr_int, fr_number
from geo.locate import build_locator, locate_point
from geo.sources import DATASETS
from geo.store import BuildReport, load_dataset
from geo.tabular import (
    COMMAND_LINE_LIMITS,
    EXCEL_SUFFIXES,
    check_size,
    guess_address_columns,
    guess_lonlat_columns,
    load_table,
)
from geo.territory import DEFAULT_TERRITORY
from geo.verdict import STATUS_ORDER, describe_verdict

HELP = {
    "build": "construire les tables préparées (data/processed)",
    "info": "rapport de construction, millésimes et chiffres clés du territoire",
    "locate": "dire si un point (longitude, latitude) est dans un quartier prioritaire",
    "check": "vérifier un fichier CSV ou Excel d'adresses ou de coordonnées",
}


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--territory", default=os.environ.get("QPV_TERRITORY", DEFAULT_TERRITORY),
        metavar="SIREN",
        help="SIREN de l'EPCI étudié (défaut : la variable QPV_TERRITORY, sinon "
        f"{DEFAULT_TERRITORY})",
    )  # fmt: skip


def _in_order() -> str:
    """``"2024 (en vigueur) puis 2015"``: the generations in display order."""
    first, *others = generations.ORDER
    return " puis ".join([f"{first} (en vigueur)", *map(str, others)])


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
    # Imported here, not at the top: they bring in requests, certifi and the build's modules
    # (~0.2 s), which every other command (``check`` on a big file first) would pay for nothing.
    from geo import fetch
    from geo.build import build

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
        print(json.dumps(data.report.to_json(), ensure_ascii=False, indent=1))
        return 0
    print(format_report(data.report))
    print("\nMillésimes des sources :")
    used = {v.source for v in data.report.sources.values()}
    for ds in DATASETS.values():
        if any(src.startswith(ds.key) or src == ds.key for src in used) or ds.key in used:
            print(f"- {ds.title} : {ds.vintage} ({ds.producer})")
    return 0


def format_report(report: BuildReport) -> str:
    """The build report as French text: headline figures, repairs, flags, notes."""
    t = report.territory
    lines = [
        f"Territoire : {t.name} (SIREN {t.siren})",
        f"Communes : {report.communes} (population municipale {report.population_year} : "
        f"{fr_int(report.population)})",
    ]
    for generation in (generations.PREVIOUS, generations.IN_FORCE):
        c = report.generations[generation]
        year = (
            f"en {c.population_year}"
            if c.population_year
            else f"({generations.NO_YEAR} par la source)"
        )
        lines.append(
            f"QPV {generation} du contrat : {c.contract} dans {c.communes_with_qpv} communes, "
            f"{fr_int(c.population)} habitants {year} ({c.attributed} attribués par l'Insee, "
            f"{c.neighbouring} voisin(s), {c.shared} partagé(s) avec un autre EPCI)"
        )
    lines.append(f"Géométries réparées : {len(report.repaired)}")
    lines += [f"  - {r.code} ({r.generation}) : {r.reason}" for r in report.repaired]
    lines.append(f"Valeurs signalées (manquantes ou implausibles) : {len(report.flags)}")
    lines += [
        f"  - {f.code} {f.column} : {f.reason}"
        + ("" if f.value is None else f" ({fr_number(f.value, 2)})")
        for f in report.flags
    ]
    lines += [f"Note : {n}" for n in report.notes]
    return "\n".join(lines)


def add_locate(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.description = (
        f"Verdict d'un point pour les périmètres {_in_order()}. Avec --json : une "
        "liste JSON, un objet par génération (generation, status parmi in, out, uncertain, "
        "outside_territory, qpv, contract : l'EPCI d'un quartier qui relève du contrat de ville "
        "d'un voisin, nearest, distance_m, tolerance_m, within_300m, within_500m, reason, lon, "
        "lat)."
    )
    parser.add_argument("lon", metavar="LON", help="longitude en degrés (ex. 2,8378 ou 2.8378)")
    parser.add_argument("lat", metavar="LAT", help="latitude en degrés (ex. 50,45)")
    parser.add_argument(
        "--generation", choices=(*map(str, generations.ORDER), "both"), default="both",
        help="périmètres à utiliser (défaut : les deux)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="sortie JSON (une liste)")


def run_locate(args: argparse.Namespace) -> int:
    shown = generations.ORDER if args.generation == "both" else (int(args.generation),)
    try:
        lon, lat = parse_degrees(args.lon, "longitude"), parse_degrees(args.lat, "latitude")
        locator = build_locator(load_dataset(args.territory))
        verdicts = locate_point(locator, lon, lat, generations=shown)
    except QPVError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    if args.json:
        objects = [{**v.to_dict(), "lon": lon, "lat": lat} for v in verdicts.values()]
        print(json.dumps(objects, ensure_ascii=False, indent=1))
        return 0
    for generation, verdict in verdicts.items():
        print(f"{generations.NAMES[generation]} : {' '.join(describe_verdict(verdict))}")
    return 0


def add_check(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.description = (
        "Ajoute à chaque ligne lon, lat, geocodage_score, geocodage_type, geocodage_label et, "
        f"pour {_in_order()}, qpv_<G>_statut ({', '.join(STATUS_ORDER)}), qpv_<G>_code, "
        "qpv_<G>_nom, qpv_<G>_distance_m, qpv_<G>_remarque. Sans "
        "--address-columns ni --lonlat-columns, les colonnes sont devinées (coordonnées "
        "d'abord). Les adresses sont envoyées au service d'adresses de la Géoplateforme (IGN) "
        "($QPV_GEOCODER_URL, par défaut https://data.geopf.fr/geocodage)."
    )
    parser.add_argument("input", metavar="IN", type=_path, help="fichier .csv ou .xlsx")
    parser.add_argument(
        "-o", "--output", metavar="OUT", type=_path, required=True,
        help="fichier résultat : .csv (séparateur « ; », virgule décimale) ou .xlsx ; jamais "
        "le fichier d'entrée, et un fichier existant n'est remplacé qu'avec --overwrite",
    )  # fmt: skip
    parser.add_argument(
        "--overwrite", action="store_true", help="remplacer le fichier résultat s'il existe"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--address-columns", metavar="COL,COL", help="colonnes formant l'adresse, dans l'ordre"
    )
    mode.add_argument("--lonlat-columns", metavar="LON,LAT", help="colonnes de coordonnées")
    parser.add_argument(
        "--citycode-column", metavar="COL", help="colonne du code Insee (avec les adresses)"
    )


def run_check(args: argparse.Namespace) -> int:
    suffix = args.output.suffix.lower()
    limits = COMMAND_LINE_LIMITS
    try:
        if suffix not in (".csv", ".xlsx"):
            raise InputError(f"Le fichier résultat doit finir par .csv ou .xlsx : {args.output}.")
        check_output(args.input, args.output, overwrite=args.overwrite)
        if suffix == ".csv" and not args.input.name.lower().endswith((*EXCEL_SUFFIXES, ".xls")):
            return _check_streamed(args)
        data = _read_input(args.input, limits.max_bytes)
        user_table = load_table(data, args.input.name, limits=limits)
        for note in user_table.notes:
            print(f"Attention : {note}", file=sys.stderr)
        settings = _check_columns(args, list(user_table.frame.columns))
        locator = build_locator(load_dataset(args.territory))
        result = check_table(
            user_table.frame, locator, on_progress=_progress_line(sys.stderr), **settings
        )
        content = to_csv_fr(result.rows) if suffix == ".csv" else to_excel(result.rows)
    except GeocoderError as exc:
        from geo.geocoder import user_message  # requests: only once addresses were sent

        print(f"\nErreur : {user_message(exc)}", file=sys.stderr)
        return 1
    except QPVError as exc:
        print(f"\nErreur : {exc}", file=sys.stderr)
        return 1
    try:
        write_atomically(args.output, content)
    except OSError as exc:
        print(
            f"Erreur : écriture impossible de {args.output} ({os_reason_fr(exc)}).",
            file=sys.stderr,
        )
        return 1
    if suffix == ".xlsx" and (note := excel_cut_note(result.rows)):
        print(f"Attention : {note}", file=sys.stderr)
    print(f"{fr_int(result.total)} lignes vérifiées, écrites dans {args.output}")
    print("\n".join(result.summary_lines()))
    return 0


def _check_streamed(args: argparse.Namespace) -> int:
    """CSV to CSV: no row or size limit, streamed (:mod:`geo.checkstream`); 0 or 1."""
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        result = check_csv_file(
            args.input,
            args.output,
            lambda: build_locator(load_dataset(args.territory)),
            settings=lambda columns: _check_columns(args, columns),
            progress=bar,
            notes=lambda note: print(f"Attention : {note}", file=sys.stderr),
        )
    except OSError as exc:
        print(
            f"\nErreur : écriture impossible de {args.output} ({os_reason_fr(exc)}).",
            file=sys.stderr,
        )
        return 1
    finally:
        if bar is not None:
            bar.close()
    print(f"{fr_int(result.total)} lignes vérifiées, écrites dans {args.output}")
    print("\n".join(result.summary_lines()))
    return 0


class ProgressBar:
    """Rows done, rate and time left on one rewritten line of a terminal (stderr)."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._started = time.monotonic()
        self._shown = False

    def __call__(self, rows: int, done_bytes: int, total_bytes: int) -> None:
        seconds = max(time.monotonic() - self._started, 1e-6)
        share = min(done_bytes / total_bytes, 1.0) if total_bytes else 1.0
        width = 20
        filled = round(width * share)
        left = seconds * (1 - share) / share if share > 0 else 0.0
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {fr_int(share * 100):>3} % · "
            f"{fr_int(rows)} lignes · {fr_int(rows / seconds)} lignes/s · "
            f"reste {_duration(left)}"
        )
        print(f"\r{line:<78}", end="", file=self._stream, flush=True)
        self._shown = True

    def close(self) -> None:
        """End the bar's line (nothing if nothing was shown)."""
        if self._shown:
            print(file=self._stream, flush=True)


def _duration(seconds: float) -> str:
    """``1 min 05 s`` or ``12 s``."""
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


def _read_input(path: Path, max_bytes: int) -> bytes:
    """The input's bytes, never more than one past the limit (a device or a huge file)."""
    try:
        check_size(path.stat().st_size, max_bytes)
        with path.open("rb") as source:
            return source.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"Lecture impossible de {path} ({os_reason_fr(exc)}).") from None


def _check_columns(args: argparse.Namespace, columns: list[str]) -> dict:
    """The check_table arguments from the options, or guessed from the table's columns."""

    def split(value: str) -> list[str]:
        return [c.strip() for c in value.split(",") if c.strip()]

    if args.lonlat_columns:
        pair = split(args.lonlat_columns)
        if len(pair) != 2:
            raise InputError(f"--lonlat-columns attend deux colonnes LON,LAT : {pair}.")
        return {"lonlat_columns": tuple(pair)}
    if args.address_columns:
        return {
            "address_columns": split(args.address_columns),
            "citycode_column": args.citycode_column,
        }
    guessed = guess_lonlat_columns(columns)
    if guessed:
        return {"lonlat_columns": guessed}
    address = guess_address_columns(columns)
    if address:
        return {"address_columns": address, "citycode_column": args.citycode_column}
    raise InputError(
        "Aucune colonne d'adresse ni de coordonnées reconnue parmi : "
        f"{', '.join(columns)}. Indiquez --address-columns ou --lonlat-columns."
    )


def _progress_line(stream):
    """Progress on one rewritten line of ``stream`` (stderr: stdout stays the result)."""

    def show(fraction: float, message: str) -> None:
        end = "\n" if fraction >= 1 else ""
        print(f"\r{fr_int(fraction * 100):>3} % {message:<60}", end=end, file=stream, flush=True)

    return show


COMMANDS = {
    "build": (add_build, run_build),
    "info": (add_info, run_info),
    "locate": (add_locate, run_locate),
    "check": (add_check, run_check),
}


def _path(value: str) -> Path:
    return Path(value)
