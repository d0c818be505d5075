"""The download cache on disk: its folder, a file's SHA-256 and the sidecars vouching for it.

A downloaded source is kept at ``<cache_dir>/<source.path>``. A download with no published
checksum (``stable=False``) gets a ``<file>.sha256`` sidecar recording its hash, so that later
corruption of the cached copy is seen. Files are written beside their target, then moved into
place (``os.replace``): a crash never leaves a torn copy under the final name. Errors here are
plain ``OSError``; ``geo.fetch`` turns them into the French message.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

CACHE_ENV = "QPV_CACHE_DIR"
SIDECAR_SUFFIX = ".sha256"


def default_cache_dir() -> Path:
    """The download cache: ``QPV_CACHE_DIR``, else ``data/cache`` in the repository.

    Read at each call, not at import, so that a variable set later (a test, a server whose
    environment is changed before the first build) is honoured.
    """
    value = os.environ.get(CACHE_ENV)
    if value:
        return Path(value).expanduser()
    return Path(__file__).resolve().parents[1] / "data" / "cache"


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def sidecar(path: Path) -> Path:
    """The checksum sidecar of a cached file."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_sidecar(path: Path) -> str | None:
    """The SHA-256 the sidecar of ``path`` records; None without one, or a word that matches
    no hash (``illisible``, ``vide``) when it cannot vouch for the file."""
    try:
        text = sidecar(path).read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        # An unreadable sidecar cannot vouch for the file: treat the copy as unverifiable.
        return "illisible"
    words = text.split()
    return words[0].lower() if words else "vide"


def temp_file(target: Path) -> Path:
    """Create an empty temporary file beside ``target`` (its folder created if needed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    return Path(name)


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file beside it."""
    tmp = temp_file(target)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
