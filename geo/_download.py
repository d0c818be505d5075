"""One source file brought from the network: its data.gouv.fr address resolved, the file
streamed and checked for truncation, or its member extracted from a downloaded archive.

Private plumbing of ``geo.fetch``, which decides when to download and where the bytes go (a
temporary file of the cache). Every way a download can fail becomes :class:`Failed`, with a
French reason for the final message; an answer or an archive shared by several sources is
fetched once per :class:`Downloader`.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

import requests

from geo._http import RETRY_STATUSES, USER_AGENT, RetryPolicy, make_session, request_with_retries
from geo.sources import DATAGOUV_QPV, Source

CHUNK_SIZE = 1 << 16

Progress = Callable[[str, int, int | None], None]

# Files are compared byte for byte with their published checksum: ask for them unencoded.
_DOWNLOAD_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
_API_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}


class Failed(Exception):
    """One place could not provide a source; ``reason`` is French, for the final message.

    ``checksum`` is true when wrong bytes were received (a truncated or corrupted file).
    """

    def __init__(self, reason: str, *, checksum: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.checksum = checksum


class Downloader:
    """The HTTP side of one fetching run: a session, its options, and what sources share.

    ``scratch`` returns a private folder for downloaded archives (the caller creates it once
    and removes it at the end of the run).
    """

    def __init__(
        self,
        *,
        session: requests.Session | None,
        progress: Progress | None,
        datagouv_api: str,
        timeout: float | tuple[float, float],
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        scratch: Callable[[], Path],
    ) -> None:
        self.progress = progress
        self.datagouv_api = datagouv_api.rstrip("/")
        self.timeout = timeout
        self.policy = policy
        self.sleep = sleep
        self._scratch = scratch
        self._session = session
        self._own_session = session is None
        # Shared by the sources of one run: a data.gouv answer and archives are fetched once.
        self._resources: dict[str, list[dict] | Failed] = {}
        self._archives: dict[str, Path | Failed] = {}

    def close(self) -> None:
        """Close the session if this downloader opened it."""
        if self._own_session and self._session is not None:
            self._session.close()

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session()
        return self._session

    def download(self, source: Source, out: BinaryIO) -> tuple[str, str]:
        """Write the bytes of ``source`` into ``out``; return the URL used and their SHA-256.

        Raises
        ------
        Failed
            When the network, the server, the data.gouv.fr API or the archive lets us down.
        """
        url = source.url or self._resolve_datagouv(source)
        if source.member:
            archive = self._archive(url, source)
            return url, self._extract(archive, url, source.member, out)
        return url, self._stream(url, source.key, out)

    def _stream(self, url: str, key: str, out: BinaryIO) -> str:
        """Download ``url`` into ``out``; return the SHA-256 of the bytes written."""
        response = self._get(url, stream=True, headers=_DOWNLOAD_HEADERS)
        with response:
            if response.status_code != 200:
                raise Failed(self._status_reason(url, response))
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
                raise Failed(
                    f"{url} : téléchargement tronqué, connexion fermée après "
                    f"{_format_int(response.raw.tell())} octets sur "
                    f"{_format_int(total) if total else '?'} annoncés",
                    checksum=True,
                ) from exc
            except requests.RequestException as exc:
                raise Failed(f"{url} : téléchargement interrompu ({_net_reason(exc)})") from exc
            encoded = response.headers.get("Content-Encoding", "identity").lower()
            received = done if encoded in ("", "identity") else response.raw.tell()
            if total is not None and received != total:
                raise Failed(
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
            raise Failed(f"{url} : délai dépassé ({attempts} tentatives)") from exc
        except requests.ConnectionError as exc:
            raise Failed(
                f"{url} : connexion impossible, {_net_reason(exc)} ({attempts} tentatives)"
            ) from exc
        except requests.RequestException as exc:
            raise Failed(f"{url} : requête impossible ({_net_reason(exc)})") from exc

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
            except Failed as exc:
                resources = exc
            self._resources[api_url] = resources
        if isinstance(resources, Failed):
            raise resources
        pattern = re.compile(source.datagouv_resource or "")
        for resource in resources:
            url = str(resource.get("url") or "")
            title = str(resource.get("title") or "")
            if url and (pattern.search(url) or pattern.search(title)):
                return url
        raise Failed(
            f"aucune ressource du jeu de données data.gouv.fr {api_url} ne correspond au motif "
            f"{source.datagouv_resource!r} ({len(resources)} ressources listées)"
        )

    def _datagouv_resources(self, api_url: str) -> list[dict]:
        response = self._get(api_url, headers=_API_HEADERS)
        with response:
            if response.status_code != 200:
                raise Failed(f"API data.gouv.fr : {self._status_reason(api_url, response)}")
            try:
                payload = response.json()
            except ValueError as exc:
                raise Failed(f"API data.gouv.fr : réponse non JSON de {api_url}") from exc
        resources = payload.get("resources") if isinstance(payload, dict) else None
        if not isinstance(resources, list):
            raise Failed(f"API data.gouv.fr : pas de liste « resources » dans {api_url}")
        return [r for r in resources if isinstance(r, dict)]

    def _archive(self, url: str, source: Source) -> Path:
        """Download the archive at ``url`` once per run, into the private scratch folder."""
        known = self._archives.get(url)
        if isinstance(known, Failed):
            raise known
        if known is not None:
            return known
        path = self._scratch() / f"{len(self._archives)}.archive"
        try:
            with open(path, "wb") as out:
                self._stream(url, source.key, out)
        except Failed as exc:
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
                    name = _member(zf.namelist(), member, url)
                    with zf.open(name) as src:
                        return _copy_hashing(src, out)
            if tarfile.is_tarfile(archive):
                with tarfile.open(archive, "r:*") as tf:
                    name = _member(tf.getnames(), member, url)
                    extracted = tf.extractfile(name)
                    if extracted is None:
                        raise Failed(f"{member} n'est pas un fichier dans l'archive {url}")
                    with extracted:
                        return _copy_hashing(extracted, out)
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as exc:
            raise Failed(f"archive illisible {url} ({exc})", checksum=True) from exc
        raise Failed(f"{url} n'est ni une archive ZIP ni une archive tar", checksum=True)


def _member(names: list[str], member: str, url: str) -> str:
    name = _pick_member(names, member)
    if name is None:
        sample = ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
        raise Failed(f"{member} absent de l'archive {url} (contenu : {sample})")
    return name


def _pick_member(names: list[str], member: str) -> str | None:
    """The archive entry named ``member``, or the only one ending with ``/member``."""
    if member in names:
        return member
    # A republished archive may wrap its content in one more folder.
    nested = [name for name in names if name.endswith("/" + member)]
    return nested[0] if len(nested) == 1 else None


def _copy_hashing(src: IO[bytes], out: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := src.read(CHUNK_SIZE):
        out.write(chunk)
        digest.update(chunk)
    return digest.hexdigest()


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
