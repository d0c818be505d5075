"""geo.fetch against a real HTTP server on 127.0.0.1 (tests/mirror_server.py) and the mirror."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from mirror_server import (
    Corrupted,
    MirrorServer,
    NotFound,
    RateLimited,
    Slow,
    Status,
    Truncated,
)

from geo import fetch as fetch_module
from geo._http import USER_AGENT, RetryPolicy
from geo.cache import SIDECAR_SUFFIX, default_cache_dir
from geo.errors import (
    CacheError,
    ChecksumError,
    DatasetUnavailableError,
    FolderNotWritableError,
)
from geo.fetch import (
    Fetched,
    cli_progress,
    fetch,
    fetch_all,
    fetch_source,
    input_keys,
    resolve_mirror,
)
from geo.sources import DATAGOUV_QPV, DATASETS, OPTIONAL, SOURCES, Source

FAST = RetryPolicy(attempts=3, backoff=0.01)
TIMEOUT = (1.0, 0.3)  # (connect, read): the Slow fault answers after 5 s
TITLE = DATASETS["populations_call"].title


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder`` (relative, sorted), hidden temporary files included."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


class NoNetworkSession(requests.Session):
    """A session that fails the test on any request (the transport, not the code under test)."""

    def request(self, method, url, *args, **kwargs):
        raise AssertionError(f"unexpected HTTP request: {method} {url}")


@pytest.fixture
def server():
    with MirrorServer() as s:
        yield s


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def get(cache, sleeps):
    """``fetch_source`` with a tmp cache, small timeouts, fast retries and recorded sleeps."""

    def call(source: Source, **kwargs) -> Fetched:
        kwargs.setdefault("mirror", None)
        kwargs.setdefault("cache_dir", cache)
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("policy", FAST)
        kwargs.setdefault("sleep", sleeps.append)
        return fetch_source(source, **kwargs)

    return call


def served_source(
    server: MirrorServer,
    data: bytes,
    *,
    name: str = "tiny.csv",
    key: str = "tiny",
    stable: bool = True,
    **fields,
) -> Source:
    """A source whose official URL is on the test server, with the real SHA-256 of ``data``."""
    url = server.add_file(f"/files/{name}", data)
    return Source(
        key=key,
        dataset="populations_call",
        path=f"test/{name}",
        sha256=sha256(data),
        url=url,
        stable=stable,
        **fields,
    )


CSV = b"code;nom;pmun\n62498;Lens;32000\n62510;Lievin;30000\n"


# -- cache, mirror, download -----------------------------------------------------------------------


def test_mirror_hit_is_read_in_place_without_request(server, get, cache, tmp_path):
    source = served_source(server, CSV)
    mirror = tmp_path / "mirror"
    (mirror / "test").mkdir(parents=True)
    (mirror / "test/tiny.csv").write_bytes(CSV)

    got = get(source, mirror=mirror)

    assert got == Fetched("tiny", mirror / "test/tiny.csv", "mirror", sha256(CSV))
    assert server.requests == []
    assert files_under(cache) == []  # not copied


def test_download_then_cache_hit_makes_one_request(server, get, cache):
    source = served_source(server, CSV)

    first = get(source)
    second = get(source)

    assert (first.origin, second.origin) == ("download", "cache")
    assert first.path == second.path == cache / "test/tiny.csv"
    assert second.path.read_bytes() == CSV
    assert len(server.requests) == 1


def test_download_reports_progress_writes_atomically_and_identifies_itself(server, get, cache):
    data = bytes(range(256)) * 1200  # 307 200 bytes: several chunks
    source = served_source(server, data, name="big.bin")
    calls = []

    got = get(source, progress=lambda *args: calls.append(args))

    assert got.origin == "download" and got.sha256 == sha256(data)
    assert got.path.read_bytes() == data
    assert files_under(cache) == ["test/big.bin"]  # no temporary file left, no sidecar (stable)
    assert len(calls) > 2
    assert all(key == "tiny" and total == len(data) for key, _, total in calls)
    done = [d for _, d, _ in calls]
    assert done == sorted(done) and done[-1] == len(data)
    (request,) = server.requests
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Accept-Encoding"] == "identity"


@pytest.mark.mirror
def test_real_mirror_file_downloaded_end_to_end(get, cache, mirror_dir):
    official = SOURCES["populations_call"]
    with MirrorServer(root=mirror_dir) as host:
        source = replace(official, url=host.url(official.path))
        got = get(source)
    assert got.origin == "download"
    assert got.sha256 == official.sha256
    assert got.path.read_bytes() == (mirror_dir / official.path).read_bytes()
    assert files_under(cache) == [official.path]


# -- failures --------------------------------------------------------------------------------------


def test_404_names_dataset_url_and_mirror_tried_and_is_not_retried(server, get, tmp_path, sleeps):
    source = served_source(server, CSV)
    server.script("/files/tiny.csv", NotFound())
    mirror = tmp_path / "mirror"
    mirror.mkdir()

    with pytest.raises(DatasetUnavailableError) as error:
        get(source, mirror=mirror)

    message = str(error.value)
    assert TITLE in message
    assert source.url in message
    assert str(mirror / "test/tiny.csv") in message
    assert "HTTP 404" in message
    assert "QPV_DATA_MIRROR" in message and "--mirror" in message
    assert len(server.requests) == 1 and sleeps == []


def test_no_mirror_and_no_url_says_so(get):
    source = Source(key="nourl", dataset="populations_call", path="test/nourl.csv")
    with pytest.raises(DatasetUnavailableError) as error:
        get(source)
    message = str(error.value)
    assert "aucun miroir indiqué" in message
    assert "pas d'URL de téléchargement connue" in message
    assert DATASETS["populations_call"].page in message


def test_timeout_gives_up_after_the_allowed_attempts(server, get, cache):
    source = served_source(server, CSV)
    server.script("/files/tiny.csv", Slow(delay=5.0))

    start = time.monotonic()
    with pytest.raises(DatasetUnavailableError, match="délai dépassé") as error:
        get(source)

    assert time.monotonic() - start < 3.0
    assert len(server.requests) == FAST.attempts
    assert source.url in str(error.value)
    assert files_under(cache) == []


def test_429_waits_for_retry_after_then_succeeds(server, get, sleeps):
    source = served_source(server, CSV)
    server.script("/files/tiny.csv", RateLimited(retry_after=1, times=2))

    got = get(source)

    assert got.origin == "download" and got.path.read_bytes() == CSV
    assert len(server.requests) == 3
    assert sleeps == [1.0, 1.0]


def test_429_really_waits(server, get):
    source = served_source(server, CSV)
    server.script("/files/tiny.csv", RateLimited(retry_after=1, times=1))

    start = time.monotonic()
    got = get(source, sleep=time.sleep)

    assert time.monotonic() - start >= 1.0
    assert got.origin == "download" and len(server.requests) == 2


def test_500_then_success(server, get, sleeps):
    source = served_source(server, CSV)
    server.script("/files/tiny.csv", Status(code=500, times=1))

    got = get(source)

    assert got.sha256 == sha256(CSV)
    assert len(server.requests) == 2 and sleeps == [FAST.backoff]


def test_persistent_503_is_reported_after_bounded_retries(server, get):
    source = served_source(server, CSV)
    server.script("/files/tiny.csv", Status(code=503, times=None))

    with pytest.raises(DatasetUnavailableError, match="HTTP 503"):
        get(source)
    assert len(server.requests) == FAST.attempts


def test_corrupted_download_is_a_checksum_error_and_not_kept(server, get, cache):
    source = served_source(server, CSV)
    server.script("/files/tiny.csv", Corrupted())

    with pytest.raises(ChecksumError) as error:
        get(source)

    message = str(error.value)
    assert source.sha256 in message
    assert "test/tiny.csv" in message and "geo/sources.py" in message
    assert files_under(cache) == []


def test_truncated_download_is_an_error_and_not_kept(server, get, cache):
    source = served_source(server, CSV * 50, stable=False)  # no checksum to catch it
    server.script("/files/tiny.csv", Truncated(send=100))

    with pytest.raises(ChecksumError, match="tronqué") as error:
        get(source)
    announced = f"{len(CSV) * 50:,}".replace(",", "\u202f")
    assert f"après 100 octets sur {announced} annoncés" in str(error.value)
    assert files_under(cache) == []


def test_corrupt_cached_copy_is_replaced_from_the_mirror(server, get, cache, tmp_path):
    source = served_source(server, CSV)
    (cache / "test").mkdir(parents=True)
    (cache / "test/tiny.csv").write_bytes(CSV[:-5] + b"XXXX\n")
    mirror = tmp_path / "mirror"
    (mirror / "test").mkdir(parents=True)
    (mirror / "test/tiny.csv").write_bytes(CSV)

    got = get(source, mirror=mirror)

    assert got.origin == "mirror" and got.sha256 == sha256(CSV)
    assert files_under(cache) == []  # the corrupt copy was deleted
    assert server.requests == []


def test_unstable_download_records_its_hash_and_detects_later_corruption(server, get, cache):
    source = served_source(server, CSV, stable=False)
    got = get(source)
    sidecar = got.path.with_name(got.path.name + SIDECAR_SUFFIX)
    assert sidecar.read_text().split()[0] == sha256(CSV)
    assert files_under(cache) == ["test/tiny.csv", "test/tiny.csv.sha256"]

    got.path.write_bytes(b"damaged")
    again = get(source)

    assert again.origin == "download" and again.path.read_bytes() == CSV
    assert len(server.requests) == 2


def test_mirror_copy_with_wrong_checksum_is_refused(server, get, tmp_path):
    source = served_source(server, CSV)
    server.script("/files/tiny.csv", NotFound())
    mirror = tmp_path / "mirror"
    (mirror / "test").mkdir(parents=True)
    (mirror / "test/tiny.csv").write_bytes(b"something else")

    with pytest.raises(ChecksumError) as error:
        get(source, mirror=mirror)
    message = str(error.value)
    assert sha256(b"something else") in message and source.sha256 in message
    assert "HTTP 404" in message


# -- alternatives and several inputs ---------------------------------------------------------------


@pytest.mark.mirror
def test_alternative_from_mirror_needs_no_network(cache, mirror_dir):
    # The first alternative's official URL is unreachable here: it must not even be tried.
    got = fetch("qpv2024", mirror=mirror_dir, cache_dir=cache, session=NoNetworkSession())

    assert got.key == "qpv2024_simplified" and got.origin == "mirror"
    assert got.path == mirror_dir / SOURCES["qpv2024_simplified"].path
    assert got.sha256 == SOURCES["qpv2024_simplified"].sha256


def test_alternatives_are_looked_up_locally_before_any_download(server, cache, tmp_path):
    first = served_source(server, b"full", name="full.gpkg", key="full", stable=False)
    second = served_source(server, CSV, name="simple.csv", key="simple")
    server.script("/files/full.gpkg", Slow(delay=5.0))
    mirror = tmp_path / "mirror"
    (mirror / "test").mkdir(parents=True)
    (mirror / "test/simple.csv").write_bytes(CSV)
    table = {"full": first, "simple": second}

    got = fetch(
        "perimeters",
        mirror=mirror,
        cache_dir=cache,
        sources=table,
        alternatives={"perimeters": ("full", "simple")},
        timeout=TIMEOUT,
        policy=FAST,
    )

    assert (got.key, got.origin) == ("simple", "mirror")
    assert server.requests == []


def test_alternatives_are_downloaded_in_order(server, cache, sleeps):
    first = served_source(server, b"full", name="full.gpkg", key="full", stable=False)
    second = served_source(server, CSV, name="simple.csv", key="simple")
    server.script("/files/full.gpkg", NotFound())

    got = fetch(
        "perimeters",
        mirror=None,
        cache_dir=cache,
        sources={"full": first, "simple": second},
        alternatives={"perimeters": ("full", "simple")},
        timeout=TIMEOUT,
        policy=FAST,
        sleep=sleeps.append,
    )

    assert (got.key, got.origin) == ("simple", "download")
    assert [r.path for r in server.requests] == ["/files/full.gpkg", "/files/simple.csv"]


def test_fetch_all_leaves_out_an_optional_input_it_cannot_get(server, cache):
    required = served_source(server, CSV)
    optional = Source(key="extra", dataset="populations_call", path="test/extra.csv")
    table = {"tiny": required, "extra": optional}

    got = fetch_all(
        None, mirror=None, cache_dir=cache, sources=table, alternatives={}, optional={"extra"}
    )
    assert list(got) == ["tiny"] and got["tiny"].origin == "download"

    with pytest.raises(DatasetUnavailableError, match="extra"):
        fetch_all(
            None, mirror=None, cache_dir=cache, sources=table, alternatives={}, optional=set()
        )


@pytest.mark.mirror
def test_every_input_is_in_the_mirror_with_its_published_checksum(cache, mirror_dir):
    got = fetch_all(
        input_keys(),
        mirror=mirror_dir,
        cache_dir=cache,
        allow_download=False,
        session=NoNetworkSession(),
    )

    assert set(got) == set(input_keys())
    assert all(f.origin == "mirror" for f in got.values())
    assert got["qpv2024"].key == "qpv2024_simplified"
    assert set(got) >= OPTIONAL
    for fetched in got.values():
        expected = SOURCES[fetched.key].sha256
        assert expected is None or fetched.sha256 == expected


def test_download_disabled_makes_no_request(server, get):
    source = served_source(server, CSV)
    with pytest.raises(DatasetUnavailableError, match="désactivé"):
        get(source, allow_download=False)
    assert server.requests == []


def test_unknown_input_is_a_key_error(cache):
    with pytest.raises(KeyError, match="nope"):
        fetch("nope", mirror=None, cache_dir=cache)


# -- cache folder not writable ---------------------------------------------------------------------


def test_unwritable_cache_fails_downloads_with_a_french_cache_error(server, get, tmp_path):
    # Tests run as root, where chmod does not stop writes: put a regular file in the way instead.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    source = served_source(server, CSV)

    with pytest.raises(CacheError, match="Impossible d'écrire dans le cache") as error:
        get(source, cache_dir=blocker / "cache")

    assert "QPV_CACHE_DIR" in str(error.value)
    assert "(un élément du chemin n'est pas un dossier)" in str(error.value)  # not the OS's English
    assert isinstance(error.value, FolderNotWritableError)
    assert error.value.env == "QPV_CACHE_DIR"
    assert server.requests == []  # fails before touching the network


def test_unwritable_cache_still_reads_the_mirror(server, get, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    mirror = tmp_path / "mirror"
    (mirror / "test").mkdir(parents=True)
    (mirror / "test/tiny.csv").write_bytes(CSV)

    got = get(served_source(server, CSV), mirror=mirror, cache_dir=blocker)

    assert got.origin == "mirror"


# -- data.gouv.fr resources and archives -----------------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def tgz_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


PRJ = b'PROJCS["RGF93_Lambert_93",GEOGCS["GCS_RGF_1993"]]'
DBF = b"\x03fake dbf"


def publish_datagouv(server: MirrorServer, archive: bytes) -> str:
    """Serve a fake data.gouv dataset listing three resources; return the API base URL."""
    server.add_file("/res/QP_METROPOLEOUTREMER_WGS84_EPSG4326.zip", zip_bytes({"x": b"wrong"}))
    server.add_file("/res/2b4f/QP_METROPOLE_LB93.zip", archive)
    server.add_file("/res/pop_qp_2013.csv", b"qp;pop\n")
    listed = [
        ("QPV outre-mer", "zip", "/res/QP_METROPOLEOUTREMER_WGS84_EPSG4326.zip"),
        ("QPV métropole Lambert 93", "zip", "/res/2b4f/QP_METROPOLE_LB93.zip"),
        ("Population", "csv", "/res/pop_qp_2013.csv"),
    ]
    resources = [{"title": t, "format": f, "url": server.url(path)} for t, f, path in listed]
    payload = {"id": DATAGOUV_QPV, "resources": resources}
    server.add_file(f"/api/1/datasets/{DATAGOUV_QPV}/", json.dumps(payload).encode())
    return server.url("/api/1")


def lb93_source(ext: str, data: bytes) -> Source:
    official = SOURCES[f"qpv2015_{ext}"]
    return replace(official, path=f"test/{Path(official.path).name}", sha256=sha256(data))


def test_datagouv_resource_is_resolved_and_its_zip_member_extracted(server, get, cache):
    api = publish_datagouv(server, zip_bytes({"QP_METROPOLE_LB93.prj": PRJ, "other": b"."}))

    got = get(lb93_source("prj", PRJ), datagouv_api=api)

    assert got.origin == "download" and got.path.read_bytes() == PRJ
    assert [r.path for r in server.requests] == [
        f"/api/1/datasets/{DATAGOUV_QPV}/",
        "/res/2b4f/QP_METROPOLE_LB93.zip",
    ]
    assert files_under(cache) == ["test/QP_METROPOLE_LB93.prj"]  # archive not kept


def test_members_of_one_archive_share_one_download(server, cache, monkeypatch):
    api = publish_datagouv(
        server, zip_bytes({"QP/QP_METROPOLE_LB93.prj": PRJ, "QP/QP_METROPOLE_LB93.dbf": DBF})
    )
    monkeypatch.setenv("QPV_DATAGOUV_API", api)  # the environment override
    table = {"prj": lb93_source("prj", PRJ), "dbf": lb93_source("dbf", DBF)}

    got = fetch_all(["prj", "dbf"], mirror=None, cache_dir=cache, sources=table, alternatives={})

    assert got["prj"].path.read_bytes() == PRJ and got["dbf"].path.read_bytes() == DBF
    assert len(server.requests) == 2  # one API call, one archive download
    assert files_under(cache) == ["test/QP_METROPOLE_LB93.dbf", "test/QP_METROPOLE_LB93.prj"]


def test_datagouv_without_matching_resource_is_a_clear_error(server, get):
    api = publish_datagouv(server, zip_bytes({"QP_METROPOLE_LB93.prj": PRJ}))
    source = replace(lb93_source("prj", PRJ), datagouv_resource=r"(?i)QP_2030.*\.zip$")

    with pytest.raises(DatasetUnavailableError, match="aucune ressource") as error:
        get(source, datagouv_api=api)
    assert "QP_2030" in str(error.value)


def test_tgz_member_is_extracted(server, get):
    epci = b'[{"code": "246200364", "nom": "CA de Lens - Li\\u00e9vin"}]'
    url = server.add_file("/pkg/decoupage.tgz", tgz_bytes({"package/data/epci.json": epci}))
    source = replace(SOURCES["epci"], path="test/epci.json", url=url, sha256=sha256(epci))

    got = get(source)

    assert got.path.read_bytes() == epci and got.sha256 == sha256(epci)


def test_missing_archive_member_is_reported_with_the_archive_content(server, get, cache):
    url = server.add_file("/pkg/decoupage.tgz", tgz_bytes({"package/README.md": b"#"}))
    source = replace(SOURCES["epci"], path="test/epci.json", url=url)

    with pytest.raises(DatasetUnavailableError, match=r"package/README\.md") as error:
        get(source)
    assert "package/data/epci.json absent" in str(error.value)
    assert files_under(cache) == []


# -- mirror folder and settings --------------------------------------------------------------------


def test_resolve_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("QPV_DATA_MIRROR", raising=False)
    assert resolve_mirror(None) is None
    assert resolve_mirror(tmp_path) == tmp_path
    monkeypatch.setenv("QPV_DATA_MIRROR", str(tmp_path))
    assert resolve_mirror(None) == tmp_path


def test_missing_mirror_folder_is_a_clear_error(tmp_path, cache):
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetUnavailableError, match="n'existe pas") as error:
        resolve_mirror(missing)
    assert str(missing) in str(error.value)

    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(DatasetUnavailableError, match="n'est pas un dossier"):
        resolve_mirror(str(a_file))

    with pytest.raises(DatasetUnavailableError, match="n'existe pas"):
        fetch("populations_call", mirror=missing, cache_dir=cache)


def test_default_cache_dir_is_in_the_repository(monkeypatch):
    monkeypatch.delenv("QPV_CACHE_DIR", raising=False)
    repo = Path(fetch_module.__file__).resolve().parents[1]
    assert default_cache_dir() == repo / "data" / "cache"


def test_cache_folder_set_after_import_receives_the_download(server, monkeypatch, tmp_path):
    # geo.fetch is long imported: a server or a test setting QPV_CACHE_DIR now must be obeyed.
    cache = tmp_path / "cache-choisi"
    monkeypatch.setenv("QPV_CACHE_DIR", str(cache))
    source = served_source(server, CSV)

    got = fetch_source(source, mirror=None, timeout=TIMEOUT, policy=FAST)

    assert got.path == cache / "test/tiny.csv"
    assert got.path.read_bytes() == CSV
    assert files_under(cache) == ["test/tiny.csv"]


def test_cli_progress_prints_a_compact_line():
    out = io.StringIO()
    report = cli_progress(out)

    report("qpv2024_full", 500_000, 2_000_000)
    report("qpv2024_full", 500_100, 2_000_000)  # same percentage: not printed again
    report("qpv2024_full", 2_000_000, 2_000_000)
    report("contours", 3_500_000, None)

    text = out.getvalue()
    assert "\rqpv2024_full : 25 % (500,0 ko sur 2,0 Mo)" in text
    assert text.count("25 %") == 1
    assert "\rqpv2024_full : 100 % (2,0 Mo)\n" in text
    assert text.endswith("\rcontours : 3,5 Mo")
