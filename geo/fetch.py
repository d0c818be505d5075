"""Obtain the raw source files, verified: which places are tried, in which order, and why
each failed. The entry points of every data fetch (``geo._download`` does the HTTP, nothing else
downloads data; ``geo.cache`` is the cache on disk).

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

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import requests

from geo._download import Downloader, Failed, Progress
from geo._http import DEFAULT_TIMEOUT, RetryPolicy
from geo.cache import (
    CACHE_ENV,
    default_cache_dir,
    read_sidecar,
    sha256_file,
    sidecar,
    temp_file,
    write_atomically,
)
from geo.errors import (
    ChecksumError,
    DatasetUnavailableError,
    FolderNotWritableError,
    os_reason_fr,
)
from geo.sources import ALTERNATIVES, DATASETS, OPTIONAL, SOURCES, Publication, Source

MIRROR_ENV = "QPV_DATA_MIRROR"
DATAGOUV_API_ENV = "QPV_DATAGOUV_API"
DEFAULT_DATAGOUV_API = "https://www.data.gouv.fr/api/1"
DEFAULT_POLICY = RetryPolicy()

_WHAT_TO_DO = (
    "Que faire : indiquez un dossier contenant les fichiers avec l'option --mirror ou la variable "
    f"d'environnement {MIRROR_ENV}, ou connectez-vous à internet."
)


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
    api = _datagouv_api(datagouv_api)
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


# -- internals ------------------------------------------------------------------------------------


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


def _datagouv_api(value: str | None) -> str:
    """The data.gouv.fr API's root: ``value``, else ``QPV_DATAGOUV_API``, else the official one."""
    return value or os.environ.get(DATAGOUV_API_ENV) or DEFAULT_DATAGOUV_API


def _expected_sha256(source: Source) -> str | None:
    return source.sha256.lower() if source.stable and source.sha256 else None


def _format_size(n: int) -> str:
    for unit, size in (("Go", 10**9), ("Mo", 10**6), ("ko", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".", ",")
    return f"{n} o"


class _Run:
    """One fetching session: the places tried for each input, and what they have shared."""

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
        self.downloader = Downloader(
            session=session,
            progress=progress,
            datagouv_api=_datagouv_api(datagouv_api),
            timeout=timeout,
            policy=policy,
            sleep=sleep,
            scratch=self._scratch,
        )
        self._tmpdir: Path | None = None
        self.failures: list[_Failure] = []
        self.datasets: Mapping[str, Publication] = DATASETS

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        self.downloader.close()

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
        expected = _expected_sha256(source) or read_sidecar(path)
        try:
            actual = sha256_file(path)
        except OSError as exc:
            self._fail(source, "cache", f"{path} illisible ({os_reason_fr(exc)})")
            return None
        if expected is None or actual == expected:
            return Fetched(source.key, path, "cache", actual)
        try:
            path.unlink()
            sidecar(path).unlink(missing_ok=True)
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

    # -- download into the cache ---------------------------------------------------------------
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
        try:
            # Created before any request: an unwritable cache fails fast.
            tmp = temp_file(target)
        except OSError as exc:
            raise self._cache_error(target.parent, exc) from exc
        try:
            with open(tmp, "wb") as out:
                url, actual = self.downloader.download(source, out)
            expected = _expected_sha256(source)
            if expected is not None and actual != expected:
                raise Failed(
                    f"le fichier téléchargé de {url} ne correspond pas à la source attendue "
                    f"{source.path} (SHA-256 attendu {expected}, obtenu {actual}) ; il n'a pas "
                    "été conservé : réessayez plus tard, ou mettez à jour geo/sources.py si la "
                    "source officielle a été republiée",
                    checksum=True,
                )
            if expected is None:
                # Written before the file, so a crash in between leaves a mismatch, not a pass.
                write_atomically(sidecar(target), f"{actual}  {target.name}\n".encode())
            else:
                sidecar(target).unlink(missing_ok=True)
            os.replace(tmp, target)
        except Failed as exc:
            self._fail(source, "téléchargement", exc.reason, checksum=exc.checksum)
            return None
        except OSError as exc:
            raise self._cache_error(target.parent, exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return Fetched(source.key, target, "download", actual)

    def _scratch(self) -> Path:
        """The run's private folder for downloaded archives, created on first use."""
        if self._tmpdir is None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self._tmpdir = Path(tempfile.mkdtemp(prefix=".archives-", dir=self.cache_dir))
            except OSError as exc:
                raise self._cache_error(self.cache_dir, exc) from exc
        return self._tmpdir

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
