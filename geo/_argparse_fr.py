"""``argparse`` in French: the usage line, the help headings and the error messages.

argparse words its messages with ``gettext`` at the moment it builds a parser, formats a help or
reports an error. :class:`FrenchArgumentParser` does each of those with argparse's ``_`` and
``ngettext`` swapped for the French table below (anything not in it stays as argparse says it),
and reports an error as « python -m geo check : erreur : … » with exit status 2. Sub-parsers
made by ``add_subparsers().add_parser`` are of the same class.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

# Python 3.11's argparse messages a user of the command line can meet.
FRENCH = {
    "usage: ": "utilisation : ",
    # argparse writes « title: »; the space makes it « arguments : », as French is written.
    "positional arguments": "arguments ",
    "options": "options ",
    "show this help message and exit": "afficher cette aide et quitter",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "choix invalide : %(value)r (choisir parmi %(choices)s)"
    ),
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "expected one argument": "une valeur est attendue",
    "expected at least one argument": "au moins une valeur est attendue",
    "expected at most one argument": "une valeur au plus est attendue",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "one of the arguments %s is required": "l'un des arguments %s est obligatoire",
    "ambiguous option: %(option)s could match %(matches)s": (
        "option ambiguë : %(option)s peut désigner %(matches)s"
    ),
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s) : %(value)r",
    "ignored explicit argument %r": "valeur ignorée : %r",
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "commande inconnue %(parser_name)r (choisir parmi %(choices)s)"
    ),
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
}
FRENCH_PLURALS = {
    "expected %s argument": ("%s valeur attendue", "%s valeurs attendues"),
}


def _gettext(message: str) -> str:
    return FRENCH.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    one, many = FRENCH_PLURALS.get(singular, (singular, plural))
    return one if n == 1 else many


@contextlib.contextmanager
def french() -> Iterator[None]:
    """argparse speaks French inside this block (the swap is undone on leaving it)."""
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = _gettext, _ngettext
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


class FrenchArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose headings, help and errors are French; errors exit with 2."""

    def __init__(self, *args, **kwargs) -> None:
        with french():
            super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):
        with french():
            return super().parse_args(args, namespace)

    def parse_known_args(self, args=None, namespace=None):
        with french():
            return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with french():
            return super().format_usage()

    def format_help(self) -> str:
        with french():
            return super().format_help()

    def error(self, message: str):
        """Print the usage and the French message on stderr, exit with status 2."""
        self.print_usage(sys.stderr)
        with french():
            text = argparse._("%(prog)s: error: %(message)s\n")
        self.exit(2, text % {"prog": self.prog, "message": message})
