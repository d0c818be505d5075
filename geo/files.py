"""Write a result file without ever losing what the user had: the command line's output.

:func:`check_output` refuses an output that is the input itself (the same file, whatever the
path or link leading to it) and an existing file unless the user asked to replace it (a
workbook's other sheets would be gone); :func:`write_atomically` writes beside the target and
renames over it, so a crash or a full disk leaves the old file whole, never half a new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from geo.errors import InputError


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file: same resolved path, or same inode (hard link)."""
    if Path(a).resolve() == Path(b).resolve():
        return True
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return False


def check_output(source: Path, output: Path, *, overwrite: bool) -> None:
    """Refuse an output that would overwrite the input, or an existing file not to replace.

    Raises
    ------
    InputError
        French message naming the file and what to do.
    """
    if same_file(source, output):
        raise InputError(
            f"Le fichier résultat {output} est le fichier d'entrée lui-même : il serait "
            "écrasé. Choisissez un autre nom pour le résultat (option -o)."
        )
    if output.is_dir():
        raise InputError(f"Le fichier résultat {output} est un dossier : donnez un nom de fichier.")
    if output.exists() and not overwrite:
        raise InputError(
            f"Le fichier résultat {output} existe déjà : il n'est pas remplacé. Choisissez un "
            "autre nom, ou ajoutez --overwrite pour le remplacer en entier (pour un classeur "
            "Excel, ses autres feuilles seraient perdues)."
        )


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``target``'s new content into, renamed over it at the end.

    Written beside the target; if the block raises, the temporary file is removed and the
    target is unchanged. The new file gets the usual permissions (``0o666`` less the umask).

    Raises
    ------
    OSError
        The folder cannot be written (the target is then unchanged).
    """
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through :func:`atomic_output`.

    Raises
    ------
    OSError
        The folder cannot be written (the target is then unchanged).
    """
    with atomic_output(target) as out:
        out.write(data)


def _umask() -> int:
    mask = os.umask(0o022)  # reading it means setting it: put it back at once
    os.umask(mask)
    return mask
