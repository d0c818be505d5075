"""One small tree of exceptions for the whole ``geo`` package.

Every message carries the offending value and, where it helps, what the user can do. Leaves also
subclass the matching builtin so callers can catch ``TimeoutError`` or ``ValueError`` naturally.
"""


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
