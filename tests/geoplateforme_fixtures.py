"""Pytest fixtures of the Géoplateforme stand-in (``support/fake_geoplateforme.py``).

In a test module: ``pytest_plugins = ["geoplateforme_fixtures"]``.
"""

from pathlib import Path

import geopandas as gpd
import pytest

from support.fake_geoplateforme import Address, FakeGeoplateforme, load_addresses


@pytest.fixture(scope="session")
def geoplateforme_addresses(mirror_dir: Path) -> list[Address]:
    """The stand-in's address table, built once per session from the mirror."""
    return load_addresses(mirror_dir)


@pytest.fixture
def geoplateforme(geoplateforme_addresses):
    """A fresh stand-in server (own request log and modes) for one test."""
    with FakeGeoplateforme(geoplateforme_addresses) as server:
        yield server


@pytest.fixture
def geocoder(geoplateforme, monkeypatch, processed):
    """The stand-in, set as the app's address service (``QPV_GEOCODER_URL``)."""
    monkeypatch.setenv("QPV_GEOCODER_URL", geoplateforme.url)
    return geoplateforme


@pytest.fixture(scope="module")
def inside_qp062025(dataset) -> tuple[str, str]:
    """A point inside QP062025 (2015) as typed by a user: French decimal text (lon, lat)."""
    qpv = dataset.qpv.set_index("code")
    point = qpv.geometry["QP062025"].representative_point()
    wgs84 = gpd.GeoSeries([point], crs=qpv.crs).to_crs(4326).iloc[0]
    return f"{wgs84.x:.6f}".replace(".", ","), f"{wgs84.y:.6f}".replace(".", ",")
