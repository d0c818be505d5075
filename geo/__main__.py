"""Command line: ``python -m geo build | info | locate | check``."""

from __future__ import annotations

import argparse
import sys

from geo import cli


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m geo",
        description="Données des quartiers prioritaires (QPV) : construction, informations, "
        "localisation d'un point, vérification d'un fichier.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (register, _run) in cli.COMMANDS.items():
        register(sub.add_parser(name, help=cli.HELP[name]))
    args = parser.parse_args(argv)
    return cli.COMMANDS[args.command][1](args)


if __name__ == "__main__":
    sys.exit(main())
