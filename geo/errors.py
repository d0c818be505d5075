"""One small tree of exceptions for the whole ``geo`` package.

Every message carries the offending value and, where it helps, what the user can do. Leaves also
subclass the matching builtin so callers can catch ``TimeoutError`` or ``ValueError`` naturally.
"""

from __future__ import annotations

import errno


class QPVError(Exception):
    """Base class of every error raised by ``geo``."""


class DataError(QPVError):
    """A dataset could not be obtained, or what was obtained is not what we expect."""


class DatasetUnavailableError(DataError):
    """Neither the official URL nor the mirror could provide a dataset."""


class ChecksumError(DataError, ValueError):
    """A file's SHA-256 does not match the expected one (corrupt or truncated)."""


class SchemaError(DataError, ValueError):
    """A table lacks expected columns, has the wrong CRS or an unexpected feature count."""


class UnknownTerritoryError(QPVError, LookupError):
    """The EPCI SIREN given as territory is not in the EPCI membership data."""


class CacheError(DataError):
    """The processed cache is missing, corrupt, stale or cannot be written."""


class FolderNotWritableError(CacheError):
    """The download cache or the processed folder cannot be written.

    ``env`` names the environment variable that chooses another folder.
    """

    def __init__(self, message: str, *, env: str) -> None:
        super().__init__(message)
        self.env = env


class InputError(QPVError, ValueError):
    """User input (address, coordinates, file) is unusable. The message is French, for users."""


class GeocoderError(QPVError):
    """The address service failed."""


class GeocoderTimedOut(GeocoderError, TimeoutError):
    """The address service did not answer in time."""


class GeocoderRateLimited(GeocoderError):
    """The address service answered 429 and kept doing so after the allowed retries."""


class GeocoderUnavailable(GeocoderError, ConnectionError):
    """The address service is unreachable or answered 5xx after the allowed retries."""


class GeocoderParseError(GeocoderError, ValueError):
    """The address service answered something that is not the expected GeoCodeJSON / CSV."""


# French reasons for the OS errors a user can fix (permissions, space, a file in the way).
_OS_REASONS_FR = {
    errno.EACCES: "accès refusé",
    errno.EPERM: "accès refusé",
    errno.EROFS: "disque en lecture seule",
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota disque dépassé",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EEXIST: "un fichier existe déjà à cet emplacement",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.ENAMETOOLONG: "nom de fichier trop long",
    errno.ELOOP: "trop de liens symboliques",
    errno.EIO: "erreur de lecture ou d'écriture sur le disque",
    errno.EMFILE: "trop de fichiers ouverts",
    errno.ENFILE: "trop de fichiers ouverts",
    errno.EBUSY: "ressource occupée",
}


def os_reason_fr(exc: OSError) -> str:
    """A short French reason for an ``OSError``, to put in a French message.

    ``exc.strerror`` is English ("Read-only file system"); an errno without a French wording
    still names its symbol (``erreur système EXDEV``), and an error without errno its class.
    """
    reason = _OS_REASONS_FR.get(exc.errno)
    if reason is not None:
        return reason
    if exc.errno is None:
        return f"erreur d'entrée-sortie ({type(exc).__name__})"
    return f"erreur système {errno.errorcode.get(exc.errno, exc.errno)}"
