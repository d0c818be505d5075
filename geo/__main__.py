"""Command line: ``python -m geo build | info | locate | check``.

Whatever happens, the user reads French and never a traceback: argparse's messages are French
(exit status 2), a command's expected failures are its own « Erreur : … » lines (status 1), an
output piped into a reader that stops early (``| head``) ends quietly, and any unexpected error
ends in one French line (status 1).
"""

from __future__ import annotations

import os
import sys

from geo import cli
from geo._argparse_fr import FrenchArgumentParser

UNEXPECTED = (
    "Erreur inattendue ({kind}) : la commande s'est arrêtée. Relancez-la ; si l'erreur se "
    "reproduit, signalez-la en indiquant la commande lancée."
)


def build_parser() -> FrenchArgumentParser:
    """The parser of every command, in French."""
    parser = FrenchArgumentParser(
        prog="python -m geo",
        description="Données des quartiers prioritaires (QPV) : construction, informations, "
        "localisation d'un point, vérification d'un fichier.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    for name, (register, _run) in cli.COMMANDS.items():
        register(sub.add_parser(name, help=cli.HELP[name]))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return cli.COMMANDS[args.command][1](args)
    except BrokenPipeError:
        # The reader is gone: nothing more can be said to it, and Python's own flush at exit
        # would fail again. Point stdout at /dev/null and stop (Python's documented recipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("\nInterrompu.", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: a French line, never a traceback
        print(UNEXPECTED.format(kind=type(exc).__name__), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
