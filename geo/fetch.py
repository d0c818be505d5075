"""Obtain the raw source files, verified: the only module that touches the network for data.

For each :class:`~geo.sources.Source` the places are tried in this order:

1. the cache, ``<cache_dir>/<source.path>`` (default :func:`default_cache_dir`), if verified;
2. the mirror, ``<mirror>/<source.path>`` (``--mirror`` or ``QPV_DATA_MIRROR``), read in place:
   mirror files are read-only and may be large, so they are never copied;
3. the official URL (resolved through the data.gouv.fr API when the table gives a resource
   pattern), the archive member extracted when the table names one, written atomically to the
   cache.

A ``stable`` source must match its SHA-256 wherever it comes from. The hash of an unstable download
is recorded in a ``<file>.sha256`` sidecar so that later corruption of the cached copy is seen.
For a logical input with alternatives, every alternative is first tried from the cache and the
mirror, and only then downloaded, so an offline machine with a mirror never waits on the network.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO
from urllib.parse import urlsplit

import requests

from geo._http import (
    DEFAULT_TIMEOUT,
    RETRY_STATUSES,
    USER_AGENT,
    RetryPolicy,
    make_session,
    request_with_retries,
)
from geo.errors import (
    ChecksumError,
    DatasetUnavailableError,
    FolderNotWritableError,
    os_reason_fr,
)
from geo.sources import ALTERNATIVES, DATAGOUV_QPV, DATASETS, OPTIONAL, SOURCES, Publication, Source

MIRROR_ENV = "QPV_DATA_MIRROR"
CACHE_ENV = "QPV_CACHE_DIR"
DATAGOUV_API_ENV = "QPV_DATAGOUV_API"
DEFAULT_DATAGOUV_API = "https://www.data.gouv.fr/api/1"
SIDECAR_SUFFIX = ".sha256"
CHUNK_SIZE = 1 << 16
DEFAULT_POLICY = RetryPolicy()

Progress = Callable[[str, int, int | None], None]

# Files are compared byte for byte with their published checksum: ask for them unencoded.
_DOWNLOAD_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
_API_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}
_WHAT_TO_DO = (
    "Que faire : indiquez un dossier contenant les fichiers avec l'option --mirror ou la variable "
    f"d'environnement {MIRROR_ENV}, ou connectez-vous à internet."
)


def default_cache_dir() -> Path:
    """The download cache: ``QPV_CACHE_DIR``, else ``data/cache`` in the repository.

    Read at each call, not at import, so that a variable set later (a test, a server whose
    environment is changed before the first build) is honoured.
    """
    value = os.environ.get(CACHE_ENV)
    if value:
        return Path(value).expanduser()
    return Path(__file__).resolve().parents[1] / "data" / "cache"


@dataclass(frozen=True)
class Fetched:
    """A verified local file standing for one source."""

    key: str  # the source key (for an input with alternatives: the alternative obtained)
    path: Path
    origin: str  # "cache" | "mirror" | "download"
    sha256: str


def resolve_mirror(value: str | os.PathLike | None = None) -> Path | None:
    """Return the mirror folder: ``value`` if given, else ``QPV_DATA_MIRROR``, else None.

    Raises
    ------
    DatasetUnavailableError
        When the folder given does not exist or is not a folder.
    """
    if value is None or str(value) == "":
        value = os.environ.get(MIRROR_ENV) or None
    if value is None:
        return None
    return _checked_mirror(Path(value).expanduser())


def _checked_mirror(path: Path) -> Path:
    where = f"(option --mirror ou variable d'environnement {MIRROR_ENV})"
    if not path.exists():
        raise DatasetUnavailableError(
            f"Le miroir de données indiqué n'existe pas : {path} {where}."
        )
    if not path.is_dir():
        raise DatasetUnavailableError(
            f"Le miroir de données indiqué n'est pas un dossier : {path} {where}."
        )
    return path


def input_keys(
    sources: Mapping[str, Source] = SOURCES,
    alternatives: Mapping[str, tuple[str, ...]] = ALTERNATIVES,
) -> list[str]:
    """Return the logical inputs: each alternatives key, then every source not among them."""
    covered = {name for names in alternatives.values() for name in names}
    return [*alternatives, *(key for key in sources if key not in covered)]


def download_hosts(
    sources: Mapping[str, Source] = SOURCES, *, datagouv_api: str | None = None
) -> list[str]:
    """The hosts the official files are downloaded from, sorted: what a firewall must let out.

    A data.gouv.fr resource may be served from another host, named by the API's answer.
    """
    api = datagouv_api or os.environ.get(DATAGOUV_API_ENV) or DEFAULT_DATAGOUV_API
    hosts = {urlsplit(source.url).hostname for source in sources.values() if source.url}
    if any(source.datagouv_resource for source in sources.values()):
        hosts.add(urlsplit(api).hostname)
    return sorted(host for host in hosts if host)


def mirror_only(
    sources: Mapping[str, Source] = SOURCES,
    alternatives: Mapping[str, tuple[str, ...]] = ALTERNATIVES,
    optional: frozenset[str] = OPTIONAL,
) -> list[Source]:
    """The sources of required inputs that have no download address: only a mirror has them."""
    found = []
    for key in input_keys(sources, alternatives):
        candidates = _sources_of_input(key, sources, alternatives)
        if key not in optional and not any(s.url or s.datagouv_resource for s in candidates):
            found.extend(candidates)
    return found


def fetch_source(
    source: Source,
    *,
    mirror: Path | None,
    cache_dir: Path | None = None,
    allow_download: bool = True,
    session: requests.Session | None = None,
    progress: Progress | None = None,
    datasets: Mapping[str, Publication] = DATASETS,
    datagouv_api: str | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """Obtain one source from the cache, the mirror or its official URL, verified.

    Raises
    ------
    DatasetUnavailableError
        When no place can provide the file (the French message says what was tried).
    ChecksumError
        When the only copies found do not match the expected SHA-256, or a download is truncated.
    CacheError
        When a download is needed but the cache folder cannot be written.
    """
    with _Run(
        mirror=mirror,
        cache_dir=cache_dir,
        allow_download=allow_download,
        session=session,
        progress=progress,
        datagouv_api=datagouv_api,
        timeout=timeout,
        policy=policy,
        sleep=sleep,
    ) as run:
        return run.fetch_input(source.key, [source], datasets)


def fetch(
    key: str,
    *,
    mirror: Path | None,
    cache_dir: Path | None = None,
    allow_download: bool = True,
    session: requests.Session | None = None,
    progress: Progress | None = None,
    sources: Mapping[str, Source] = SOURCES,
    alternatives: Mapping[str, tuple[str, ...]] = ALTERNATIVES,
    datasets: Mapping[str, Publication] = DATASETS,
    datagouv_api: str | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """Obtain one logical input: a key of ``alternatives`` or of ``sources``.

    For alternatives, each is first looked up in the cache and the mirror, in order, and only
    then downloaded, in order. ``Fetched.key`` tells which alternative was obtained.

    Raises
    ------
    KeyError
        When ``key`` names no input.
    DatasetUnavailableError, ChecksumError, CacheError
        As :func:`fetch_source`.
    """
    with _Run(
        mirror=mirror,
        cache_dir=cache_dir,
        allow_download=allow_download,
        session=session,
        progress=progress,
        datagouv_api=datagouv_api,
        timeout=timeout,
        policy=policy,
        sleep=sleep,
    ) as run:
        return run.fetch_input(key, _sources_of_input(key, sources, alternatives), datasets)


def fetch_all(
    keys: Iterable[str] | None = None,
    *,
    mirror: Path | None,
    cache_dir: Path | None = None,
    allow_download: bool = True,
    session: requests.Session | None = None,
    progress: Progress | None = None,
    sources: Mapping[str, Source] = SOURCES,
    alternatives: Mapping[str, tuple[str, ...]] = ALTERNATIVES,
    datasets: Mapping[str, Publication] = DATASETS,
    optional: frozenset[str] = OPTIONAL,
    datagouv_api: str | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Fetched]:
    """Obtain several logical inputs (all of :func:`input_keys` by default), keyed by input.

    An archive or API answer shared by several sources is downloaded once. An ``optional`` input
    that cannot be obtained is left out of the result, for the caller to report.

    Raises
    ------
    DatasetUnavailableError, ChecksumError, CacheError
        As :func:`fetch`, for the first required input that fails.
    """
    wanted = list(keys) if keys is not None else input_keys(sources, alternatives)
    plan = {key: _sources_of_input(key, sources, alternatives) for key in wanted}
    result: dict[str, Fetched] = {}
    with _Run(
        mirror=mirror,
        cache_dir=cache_dir,
        allow_download=allow_download,
        session=session,
        progress=progress,
        datagouv_api=datagouv_api,
        timeout=timeout,
        policy=policy,
        sleep=sleep,
    ) as run:
        for key, candidates in plan.items():
            try:
                result[key] = run.fetch_input(key, candidates, datasets)
            except DatasetUnavailableError:
                if key not in optional:
                    raise
    return result


def cli_progress(stream: TextIO | None = None) -> Progress:
    """Return a progress callback printing one compact, updated line per file (stderr default)."""
    shown: dict[str, object] = {}

    def report(key: str, done: int, total: int | None) -> None:
        out = stream if stream is not None else sys.stderr
        finished = total is not None and done >= total
        if finished:
            marker: object = "done"
            text = f"100 % ({_format_size(done)})"
        elif total:
            marker = done * 100 // total
            text = f"{marker} % ({_format_size(done)} sur {_format_size(total)})"
        else:
            marker = done // 1_000_000  # one update per megabyte
            text = _format_size(done)
        if shown.get(key) == marker:
            return
        shown[key] = marker
        out.write(f"\r{key} : {text}" + ("\n" if finished else ""))
        out.flush()

    return report


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# -- internals ------------------------------------------------------------------------------------


class _Failed(Exception):
    """One place could not provide a source; ``reason`` is French, for the final message."""

    def __init__(self, reason: str, *, checksum: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.checksum = checksum


@dataclass(frozen=True)
class _Failure:
    source: str
    place: str  # French: "cache", "miroir", "téléchargement"
    reason: str
    checksum: bool  # wrong bytes from the mirror or a download (not a cleaned-up cache copy)


def _sources_of_input(
    key: str, sources: Mapping[str, Source], alternatives: Mapping[str, tuple[str, ...]]
) -> list[Source]:
    names = alternatives.get(key, (key,))
    missing = [name for name in names if name not in sources]
    if missing:
        known = ", ".join(sorted({*alternatives, *sources}))
        raise KeyError(f"unknown input {key!r} (missing sources {missing}); known: {known}")
    return [sources[name] for name in names]


def _expected_sha256(source: Source) -> str | None:
    return source.sha256.lower() if source.stable and source.sha256 else None


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _read_sidecar(path: Path) -> str | None:
    try:
        text = _sidecar(path).read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        # An unreadable sidecar cannot vouch for the file: treat the copy as unverifiable.
        return "illisible"
    words = text.split()
    return words[0].lower() if words else "vide"


def _format_size(n: int) -> str:
    for unit, size in (("Go", 10**9), ("Mo", 10**6), ("ko", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".", ",")
    return f"{n} o"


def _format_int(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def _net_reason(exc: requests.RequestException) -> str:
    """A short French reason for a transport failure (the full chain stays in ``__cause__``)."""
    text = str(exc)
    if "NameResolution" in text or "Failed to resolve" in text:
        return "nom d'hôte introuvable (pas d'accès à internet ?)"
    if "Connection refused" in text:
        return "connexion refusée"
    if isinstance(exc, requests.exceptions.SSLError):
        return "erreur TLS"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "URL invalide"
    return type(exc).__name__


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.strip().isdigit() else None


def _pick_member(names: list[str], member: str) -> str | None:
    """The archive entry named ``member``, or the only one ending with ``/member``."""
    if member in names:
        return member
    # A republished archive may wrap its content in one more folder.
    nested = [name for name in names if name.endswith("/" + member)]
    return nested[0] if len(nested) == 1 else None


class _Run:
    """One fetching session: HTTP session, options, and what several sources share."""

    def __init__(
        self,
        *,
        mirror: Path | None,
        cache_dir: Path | None,
        allow_download: bool,
        session: requests.Session | None,
        progress: Progress | None,
        datagouv_api: str | None,
        timeout: float | tuple[float, float],
        policy: RetryPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        self.mirror = _checked_mirror(Path(mirror)) if mirror is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.allow_download = allow_download
        self.progress = progress
        self.datagouv_api = (
            datagouv_api or os.environ.get(DATAGOUV_API_ENV) or DEFAULT_DATAGOUV_API
        ).rstrip("/")
        self.timeout = timeout
        self.policy = policy
        self.sleep = sleep
        self._session = session
        self._own_session = session is None
        self._tmpdir: Path | None = None
        # Shared by the sources of one run: a data.gouv answer and archives are fetched once.
        self._resources: dict[str, list[dict] | _Failed] = {}
        self._archives: dict[str, Path | _Failed] = {}
        self.failures: list[_Failure] = []
        self.datasets: Mapping[str, Publication] = DATASETS

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        if self._own_session and self._session is not None:
            self._session.close()

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session()
        return self._session

    # -- one logical input ------------------------------------------------------------------------
    def fetch_input(
        self, key: str, candidates: list[Source], datasets: Mapping[str, Publication]
    ) -> Fetched:
        self.failures = []
        self.datasets = datasets
        for source in candidates:
            found = self._from_cache(source) or self._from_mirror(source)
            if found is not None:
                return found
        for source in candidates:
            found = self._download(source)
            if found is not None:
                return found
        raise self._error(key, candidates, datasets)

    def _fail(self, source: Source, place: str, reason: str, *, checksum: bool = False) -> None:
        self.failures.append(_Failure(source.key, place, reason, checksum))

    # -- cache and mirror ----------------------------------------------------------------------
    def _from_cache(self, source: Source) -> Fetched | None:
        path = self.cache_dir / source.path
        if not path.is_file():
            return None
        expected = _expected_sha256(source) or _read_sidecar(path)
        try:
            actual = sha256_file(path)
        except OSError as exc:
            self._fail(source, "cache", f"{path} illisible ({os_reason_fr(exc)})")
            return None
        if expected is None or actual == expected:
            return Fetched(source.key, path, "cache", actual)
        try:
            path.unlink()
            _sidecar(path).unlink(missing_ok=True)
            fate = "copie supprimée"
        except OSError as exc:
            fate = (
                f"impossible de la supprimer ({os_reason_fr(exc)}) : supprimez le fichier du "
                "cache, ou mettez à jour geo/sources.py si la source officielle a été republiée"
            )
        self._fail(
            source,
            "cache",
            f"copie corrompue {path} (SHA-256 attendu {expected}, obtenu {actual}) ; {fate}",
        )
        return None

    def _from_mirror(self, source: Source) -> Fetched | None:
        if self.mirror is None:
            return None
        path = self.mirror / source.path
        if not path.is_file():
            self._fail(source, "miroir", f"fichier absent : {path}")
            return None
        try:
            actual = sha256_file(path)
        except OSError as exc:
            self._fail(source, "miroir", f"{path} illisible ({os_reason_fr(exc)})")
            return None
        expected = _expected_sha256(source)
        if expected is not None and actual != expected:
            self._fail(
                source,
                "miroir",
                f"le fichier {path} ne correspond pas à la source publiée (SHA-256 attendu "
                f"{expected}, obtenu {actual}) : remplacez-le par le fichier original, ou mettez "
                "à jour geo/sources.py si la source officielle a été republiée",
                checksum=True,
            )
            return None
        return Fetched(source.key, path, "mirror", actual)

    # -- download ----------------------------------------------------------------------------
    def _download(self, source: Source) -> Fetched | None:
        if not self.allow_download:
            self._fail(source, "téléchargement", "désactivé (mode hors ligne)")
            return None
        if not source.url and not source.datagouv_resource:
            self._fail(
                source,
                "téléchargement",
                "pas d'URL de téléchargement connue (page du jeu de données : "
                f"{self._page(source)})",
            )
            return None
        target = self.cache_dir / source.path
        tmp = self._temp_file(target)
        try:
            with open(tmp, "wb") as out:
                url = source.url or self._resolve_datagouv(source)
                if source.member:
                    archive = self._archive(url, source)
                    actual = self._extract(archive, url, source.member, out)
                else:
                    actual = self._stream(url, source.key, out)
            expected = _expected_sha256(source)
            if expected is not None and actual != expected:
                raise _Failed(
                    f"le fichier téléchargé de {url} ne correspond pas à la source attendue "
                    f"{source.path} (SHA-256 attendu {expected}, obtenu {actual}) ; il n'a pas "
                    "été conservé : réessayez plus tard, ou mettez à jour geo/sources.py si la "
                    "source officielle a été republiée",
                    checksum=True,
                )
            if expected is None:
                # Written before the file, so a crash in between leaves a mismatch, not a pass.
                self._write_atomically(_sidecar(target), f"{actual}  {target.name}\n".encode())
            else:
                _sidecar(target).unlink(missing_ok=True)
            os.replace(tmp, target)
        except _Failed as exc:
            self._fail(source, "téléchargement", exc.reason, checksum=exc.checksum)
            return None
        except OSError as exc:
            raise self._cache_error(target.parent, exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return Fetched(source.key, target, "download", actual)

    def _page(self, source: Source) -> str:
        dataset = self.datasets.get(source.dataset)
        return dataset.page if dataset else "inconnue"

    def _cache_error(self, folder: Path, exc: OSError) -> FolderNotWritableError:
        return FolderNotWritableError(
            f"Impossible d'écrire dans le cache {folder} ({os_reason_fr(exc)}) : indiquez un "
            f"dossier accessible en écriture avec la variable {CACHE_ENV}, ou un miroir contenant "
            f"les fichiers (option --mirror ou variable {MIRROR_ENV}).",
            env=CACHE_ENV,
        )

    def _temp_file(self, target: Path) -> Path:
        """Create the temporary file beside ``target``: fails fast, before any request."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".part", dir=target.parent
            )
        except OSError as exc:
            raise self._cache_error(target.parent, exc) from exc
        os.close(fd)
        return Path(name)

    def _write_atomically(self, target: Path, data: bytes) -> None:
        tmp = self._temp_file(target)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def _stream(self, url: str, key: str, out: BinaryIO) -> str:
        """Download ``url`` into ``out``; return the SHA-256 of the bytes written."""
        response = self._get(url, stream=True, headers=_DOWNLOAD_HEADERS)
        with response:
            if response.status_code != 200:
                raise _Failed(self._status_reason(url, response))
            total = _content_length(response)
            digest = hashlib.sha256()
            done = 0
            try:
                for chunk in response.iter_content(CHUNK_SIZE):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if self.progress is not None:
                        self.progress(key, done, total)
            except requests.exceptions.ChunkedEncodingError as exc:
                raise _Failed(
                    f"{url} : téléchargement tronqué, connexion fermée après "
                    f"{_format_int(response.raw.tell())} octets sur "
                    f"{_format_int(total) if total else '?'} annoncés",
                    checksum=True,
                ) from exc
            except requests.RequestException as exc:
                raise _Failed(f"{url} : téléchargement interrompu ({_net_reason(exc)})") from exc
            encoded = response.headers.get("Content-Encoding", "identity").lower()
            received = done if encoded in ("", "identity") else response.raw.tell()
            if total is not None and received != total:
                raise _Failed(
                    f"{url} : téléchargement tronqué, {_format_int(received)} octets reçus sur "
                    f"{_format_int(total)} annoncés",
                    checksum=True,
                )
        if self.progress is not None:
            self.progress(key, done, done)
        return digest.hexdigest()

    def _get(self, url: str, **kwargs) -> requests.Response:
        attempts = self.policy.attempts
        try:
            return request_with_retries(
                self.session,
                "GET",
                url,
                policy=self.policy,
                timeout=self.timeout,
                sleep=self.sleep,
                **kwargs,
            )
        except requests.Timeout as exc:
            raise _Failed(f"{url} : délai dépassé ({attempts} tentatives)") from exc
        except requests.ConnectionError as exc:
            raise _Failed(
                f"{url} : connexion impossible, {_net_reason(exc)} ({attempts} tentatives)"
            ) from exc
        except requests.RequestException as exc:
            raise _Failed(f"{url} : requête impossible ({_net_reason(exc)})") from exc

    def _status_reason(self, url: str, response: requests.Response) -> str:
        reason = f"{url} : HTTP {response.status_code} {response.reason or ''}".rstrip()
        if response.status_code in RETRY_STATUSES:
            reason += f" ({self.policy.attempts} tentatives)"
        return reason

    # -- data.gouv.fr and archives ------------------------------------------------------------
    def _resolve_datagouv(self, source: Source) -> str:
        api_url = f"{self.datagouv_api}/datasets/{DATAGOUV_QPV}/"
        resources = self._resources.get(api_url)
        if resources is None:
            try:
                resources = self._datagouv_resources(api_url)
            except _Failed as exc:
                resources = exc
            self._resources[api_url] = resources
        if isinstance(resources, _Failed):
            raise resources
        pattern = re.compile(source.datagouv_resource or "")
        for resource in resources:
            url = str(resource.get("url") or "")
            title = str(resource.get("title") or "")
            if url and (pattern.search(url) or pattern.search(title)):
                return url
        raise _Failed(
            f"aucune ressource du jeu de données data.gouv.fr {api_url} ne correspond au motif "
            f"{source.datagouv_resource!r} ({len(resources)} ressources listées)"
        )

    def _datagouv_resources(self, api_url: str) -> list[dict]:
        response = self._get(api_url, headers=_API_HEADERS)
        with response:
            if response.status_code != 200:
                raise _Failed(f"API data.gouv.fr : {self._status_reason(api_url, response)}")
            try:
                payload = response.json()
            except ValueError as exc:
                raise _Failed(f"API data.gouv.fr : réponse non JSON de {api_url}") from exc
        resources = payload.get("resources") if isinstance(payload, dict) else None
        if not isinstance(resources, list):
            raise _Failed(f"API data.gouv.fr : pas de liste « resources » dans {api_url}")
        return [r for r in resources if isinstance(r, dict)]

    def _archive(self, url: str, source: Source) -> Path:
        """Download the archive at ``url`` once per run, into a private temporary folder."""
        known = self._archives.get(url)
        if isinstance(known, _Failed):
            raise known
        if known is not None:
            return known
        if self._tmpdir is None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self._tmpdir = Path(tempfile.mkdtemp(prefix=".archives-", dir=self.cache_dir))
            except OSError as exc:
                raise self._cache_error(self.cache_dir, exc) from exc
        path = self._tmpdir / f"{len(self._archives)}.archive"
        try:
            with open(path, "wb") as out:
                self._stream(url, source.key, out)
        except _Failed as exc:
            path.unlink(missing_ok=True)
            self._archives[url] = exc
            raise
        self._archives[url] = path
        return path

    def _extract(self, archive: Path, url: str, member: str, out: BinaryIO) -> str:
        """Copy ``member`` of a ZIP or tar archive into ``out``; return its SHA-256."""
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zf:
                    name = self._member(zf.namelist(), member, url)
                    with zf.open(name) as src:
                        return _copy_hashing(src, out)
            if tarfile.is_tarfile(archive):
                with tarfile.open(archive, "r:*") as tf:
                    name = self._member(tf.getnames(), member, url)
                    src = tf.extractfile(name)
                    if src is None:
                        raise _Failed(f"{member} n'est pas un fichier dans l'archive {url}")
                    with src:
                        return _copy_hashing(src, out)
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as exc:
            raise _Failed(f"archive illisible {url} ({exc})", checksum=True) from exc
        raise _Failed(f"{url} n'est ni une archive ZIP ni une archive tar", checksum=True)

    def _member(self, names: list[str], member: str, url: str) -> str:
        name = _pick_member(names, member)
        if name is None:
            sample = ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
            raise _Failed(f"{member} absent de l'archive {url} (contenu : {sample})")
        return name

    # -- the final error -----------------------------------------------------------------------
    def _error(
        self, key: str, candidates: list[Source], datasets: Mapping[str, Publication]
    ) -> DatasetUnavailableError | ChecksumError:
        dataset = datasets.get(candidates[0].dataset)
        title = dataset.title if dataset else candidates[0].dataset
        lines = [f"Impossible d'obtenir « {title} » (entrée {key})."]
        for source in candidates:
            lines.append(f"- {source.key} ({source.path}) :")
            if self.mirror is None:
                lines.append(
                    f"    miroir : aucun miroir indiqué (option --mirror ou variable {MIRROR_ENV})"
                )
            lines += [
                f"    {f.place} : {f.reason}" for f in self.failures if f.source == source.key
            ]
        checksum = any(f.checksum for f in self.failures)
        if checksum:
            lines.append(
                "Des fichiers trouvés ne correspondent pas à leur somme SHA-256 : ils n'ont pas "
                "été utilisés ni conservés."
            )
        lines.append(_WHAT_TO_DO)
        message = "\n".join(lines)
        return ChecksumError(message) if checksum else DatasetUnavailableError(message)


def _copy_hashing(src: BinaryIO, out: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := src.read(CHUNK_SIZE):
        out.write(chunk)
        digest.update(chunk)
    return digest.hexdigest()
