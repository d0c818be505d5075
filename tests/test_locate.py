"""Tests of ``geo.locate``: tiny geometries built here, then the real 2015 perimeters (mirror)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import Polygon, box

from geo.errors import InputError, SchemaError
from geo.locate import Locator
from geo.precision import PRECISION_BY_TYPE, precision_for_type, precisions_for_types
from geo.verdict import STATUSES

# A local origin near Lens so that every coordinate is a plausible Lambert-93 position.
X0, Y0 = 685_000.0, 7_036_000.0
TOL_2015, TOL_2024 = 5.0, 50.0
TO_WGS84 = pyproj.Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def shifted(geom):
    return shapely.affinity.translate(geom, X0, Y0)


def qpv_frame(rows: list[dict], crs="EPSG:2154") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def tiny_rows() -> list[dict]:
    """Two quartiers per generation: A (a square with a hole), B (over two communes)."""
    a = shifted(
        Polygon(box(0, 0, 200, 200).exterior.coords, [box(80, 80, 120, 120).exterior.coords])
    )
    b = shifted(box(400, 0, 600, 200))
    rows = []
    for generation, prefix in ((2015, "QP"), (2024, "QN")):
        rows.append(
            {
                "code": f"{prefix}A",
                "name": "Quartier A",
                "generation": generation,
                "commune_names": "Lens",
                "commune_codes": "62498",
                "geometry": a,
            }
        )
        rows.append(
            {
                "code": f"{prefix}B",
                "name": "Quartier B",
                "generation": generation,
                "commune_names": "Lens, Liévin",
                "commune_codes": "62498,62510",
                "geometry": b,
            }
        )
    return rows


TERRITORY = shifted(box(-1000, -1000, 1600, 1200))


@pytest.fixture(scope="module")
def locator() -> Locator:
    return Locator(qpv_frame(tiny_rows()), TERRITORY, {2015: TOL_2015, 2024: TOL_2024})


def xy(dx: float, dy: float) -> tuple[float, float]:
    return X0 + dx, Y0 + dy


def values(column) -> list:
    """A column as a plain list, missing values as None."""
    return [None if pd.isna(v) else v for v in column]


# --- Single points --------------------------------------------------------------------------


def test_point_inside_a_quartier_is_in(locator):
    v = locator.locate_xy(*xy(40, 160), generation=2015)
    assert v.status == "in"
    assert v.codes == ("QPA",)
    assert v.qpv[0].name == "Quartier A"
    assert v.qpv[0].communes == ("Lens",)
    assert v.nearest is None
    assert v.distance_m == pytest.approx(40.0)  # nearest boundary: the west edge
    assert v.within_300m and v.within_500m
    assert v.reason is None


def test_point_outside_every_quartier_is_out(locator):
    v = locator.locate_xy(*xy(300, 100), generation=2015)
    assert v.status == "out"
    assert v.codes == ()
    assert v.nearest.code in ("QPA", "QPB")  # both 100 m away
    assert v.distance_m == pytest.approx(100.0)
    assert v.within_300m and v.within_500m
    assert v.reason is None


def test_point_in_the_hole_of_a_quartier_is_out(locator):
    v = locator.locate_xy(*xy(100, 100), generation=2015)
    assert v.status == "out"
    assert v.nearest.code == "QPA"
    assert v.distance_m == pytest.approx(20.0)


@pytest.mark.parametrize("dy", [197.0, 203.0])
def test_point_near_a_boundary_is_uncertain_on_both_sides(locator, dy):
    v = locator.locate_xy(*xy(40, dy), generation=2015)
    assert v.status == "uncertain"
    assert v.distance_m == pytest.approx(3.0)
    assert v.tolerance_m == TOL_2015
    assert v.nearest.code == "QPA"
    assert v.codes == (("QPA",) if dy < 200 else ())
    assert "3\u202fm" in v.reason and "5\u202fm" in v.reason and "Quartier A" in v.reason


def test_the_tolerance_depends_on_the_generation(locator):
    point = xy(40, 170)  # 30 m inside: sure for 2015 (5 m), not for the simplified 2024 (50 m)
    assert locator.locate_xy(*point, generation=2015).status == "in"
    v = locator.locate_xy(*point, generation=2024)
    assert v.status == "uncertain"
    assert v.codes == ("QNA",)
    assert "50\u202fm" in v.reason


@pytest.mark.parametrize("dx, dy", [(100, 200), (0, 0), (600, 50), (80, 100)])
def test_point_exactly_on_a_boundary_is_uncertain_even_with_zero_tolerance(dx, dy):
    strict = Locator(qpv_frame(tiny_rows()), TERRITORY, {2015: 0.0, 2024: 0.0})
    v = strict.locate_xy(*xy(dx, dy), generation=2015)
    assert v.status == "uncertain"
    assert v.distance_m == pytest.approx(0.0, abs=1e-9)
    assert "sur la limite" in v.reason


def test_quartier_over_two_communes_lists_both(locator):
    v = locator.locate_xy(*xy(500, 100), generation=2015)
    assert v.status == "in"
    assert v.codes == ("QPB",)
    assert v.qpv[0].communes == ("Lens", "Liévin")
    assert v.qpv[0].commune_codes == ("62498", "62510")


def test_point_far_outside_the_territory_is_never_out(locator):
    for dx, dy in [(-1500, 0), (5_000, 5_000), (-60_000, 40_000)]:  # in the grid margin, beyond
        v = locator.locate_xy(*xy(dx, dy), generation=2015)
        assert v.status == "outside_territory", (dx, dy)
        assert "en dehors du territoire" in v.reason
        expected = min(
            shapely.distance(shapely.Point(xy(dx, dy)), r["geometry"]) for r in tiny_rows()
        )
        assert v.distance_m == pytest.approx(expected)


def test_point_just_outside_the_territory_is_uncertain(locator):
    v = locator.locate_xy(*xy(-1003, 0), generation=2015)
    assert v.status == "uncertain"
    assert "territoire" in v.reason
    assert locator.locate_xy(*xy(-997, 0), generation=2015).status == "out"


def test_point_inside_a_quartier_beyond_the_territory_is_in():
    # A quartier shared with a neighbouring EPCI reaches outside the territory: still "in".
    rows = tiny_rows()
    small_territory = shifted(box(-1000, -1000, 300, 1200))
    loc = Locator(qpv_frame(rows), small_territory, {2015: TOL_2015, 2024: TOL_2024})
    v = loc.locate_xy(*xy(500, 100), generation=2015)
    assert v.status == "in" and v.codes == ("QPB",)


def test_distance_bands(locator):
    # East of B (x = 600): nothing else is closer.
    for dx, near, far in [(250, True, True), (450, False, True), (550, False, False)]:
        v = locator.locate_xy(*xy(600 + dx, 100), generation=2015)
        assert v.status == "out"
        assert v.distance_m == pytest.approx(dx)
        assert (v.within_300m, v.within_500m) == (near, far), dx
        assert v.nearest.code == "QPB"


def test_deep_inside_a_large_quartier_is_within_the_bands():
    rows = [dict(tiny_rows()[0], geometry=shifted(box(0, 0, 2000, 2000)))]
    loc = Locator(qpv_frame(rows), shifted(box(-500, -500, 2500, 2500)), {2015: TOL_2015})
    v = loc.locate_xy(*xy(1000, 1000), generation=2015)
    assert v.status == "in"
    assert v.distance_m == pytest.approx(1000.0)  # far from the boundary, yet inside
    assert v.within_300m and v.within_500m
    got = loc.locate_many([X0 + 1000], [Y0 + 1000], generation=2015, crs="EPSG:2154")
    assert bool(got.loc[0, "within_300m"]) and bool(got.loc[0, "within_500m"])


def test_wgs84_and_lambert_give_the_same_verdict(locator):
    x, y = xy(500, 100)
    lon, lat = TO_WGS84.transform(x, y)
    a = locator.locate(lon, lat, generation=2015)
    b = locator.locate_xy(x, y, generation=2015)
    assert (a.status, a.codes) == (b.status, b.codes) == ("in", ("QPB",))
    assert a.distance_m == pytest.approx(b.distance_m, abs=1e-3)


def test_to_dict_is_json_ready(locator):
    d = locator.locate_xy(*xy(40, 203), generation=2015).to_dict()
    again = json.loads(json.dumps(d))
    assert again["status"] == "uncertain"
    assert again["qpv"] == []
    assert again["nearest"] == {"code": "QPA", "name": "Quartier A"}
    assert again["distance_m"] == pytest.approx(3.0)
    assert again["generation"] == 2015
    inside = locator.locate_xy(*xy(500, 100), generation=2015).to_dict()
    assert inside["qpv"] == [
        {
            "code": "QPB",
            "name": "Quartier B",
            "communes": ["Lens", "Liévin"],
            "commune_codes": ["62498", "62510"],
            "contract": None,  # the territory's own contract
        }
    ]


# --- Geocoding precision ---------------------------------------------------------------------


def test_housenumber_precision_widens_the_margin(locator):
    point = xy(40, 188)  # 12 m inside A
    assert locator.locate_xy(*point, generation=2015).status == "in"
    v = locator.locate_xy(*point, generation=2015, result_type="housenumber")
    assert v.status == "uncertain"
    assert v.tolerance_m == TOL_2015 + PRECISION_BY_TYPE["housenumber"]
    assert "précision de l'adresse" in v.reason


@pytest.mark.parametrize("kind, word", [("street", "rue"), ("municipality", "commune")])
def test_street_or_municipality_result_is_uncertain_even_deep_inside(locator, kind, word):
    v = locator.locate_xy(*xy(500, 100), generation=2015, result_type=kind)
    assert v.status == "uncertain"
    assert v.codes == ("QPB",)  # what the geocoded point itself falls in, for information
    assert word in v.reason
    assert v.to_dict()["tolerance_m"] is None
    far = locator.locate_xy(*xy(5_000, 5_000), generation=2015, result_type=kind)
    assert far.status == "outside_territory"


def test_precision_helpers():
    assert precision_for_type(None) == 0
    assert precision_for_type("housenumber") == PRECISION_BY_TYPE["housenumber"]
    assert math.isinf(precision_for_type("street"))
    with pytest.raises(InputError, match="inconnu"):
        precision_for_type("building")
    got = precisions_for_types(["housenumber", None, "locality"])
    assert got[0] == PRECISION_BY_TYPE["housenumber"] and np.isnan(got[1]) and np.isinf(got[2])


# --- Invalid input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lon, lat, shown",
    [
        (float("nan"), 50.43, "nan"),
        (2.83, float("inf"), "inf"),
        (50.43, 2.83, "50.43"),  # swapped
        (685_000.0, 7_036_000.0, "685000"),  # Lambert given as degrees
        (-61.5, 16.2, "-61.5"),  # Guadeloupe: not metropolitan France
    ],
)
def test_absurd_wgs84_coordinates_raise_input_error(locator, lon, lat, shown):
    with pytest.raises(InputError, match=r"[Cc]oordonnées") as err:
        locator.locate(lon, lat, generation=2015)
    assert shown in str(err.value)


def test_absurd_lambert_and_non_numeric_coordinates(locator):
    with pytest.raises(InputError, match="Lambert-93"):
        locator.locate_xy(2.83, 50.43, generation=2015)
    with pytest.raises(InputError, match="non numériques"):
        locator.locate("abc", 50.4, generation=2015)


def test_unknown_generation_is_an_input_error(locator):
    with pytest.raises(InputError, match="2020"):
        locator.locate_xy(*xy(0, 0), generation=2020)


def test_batch_with_an_invalid_row_raises_or_skips(locator):
    xs = [X0 + 500, float("nan"), X0 + 40]
    ys = [Y0 + 100, Y0, Y0 + 160]
    with pytest.raises(InputError, match="ligne 2"):
        locator.locate_many(xs, ys, generation=2015, crs="EPSG:2154")
    out = locator.locate_many(xs, ys, generation=2015, crs="EPSG:2154", on_invalid="skip")
    assert values(out["status"]) == [
        "in",
        None,
        "in",
    ]
    assert values(out["code"]) == ["QPB", None, "QPA"]


def test_frame_validation():
    rows = tiny_rows()
    with pytest.raises(SchemaError, match="EPSG:4326"):
        Locator(
            qpv_frame(rows).set_crs("EPSG:4326", allow_override=True), TERRITORY, {2015: 5, 2024: 5}
        )
    with pytest.raises(SchemaError, match="la table des QPV est vide"):
        Locator(qpv_frame(rows).iloc[:0], TERRITORY, {2015: 5, 2024: 5})
    with pytest.raises(SchemaError, match="2024"):
        Locator(qpv_frame(rows), TERRITORY, {2015: 5})
    with pytest.raises(
        SchemaError, match="il manque à la table des QPV les colonnes commune_codes"
    ):
        Locator(qpv_frame(rows).drop(columns="commune_codes"), TERRITORY, {2015: 5, 2024: 5})
    bowtie = Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    bad = [dict(rows[0], geometry=shifted(bowtie))]
    with pytest.raises(SchemaError, match="QPA"):
        Locator(qpv_frame(bad), TERRITORY, {2015: 5})
    lonlat_territory = box(2.7, 50.3, 2.9, 50.5)
    with pytest.raises(SchemaError, match="Lambert-93"):
        Locator(qpv_frame(rows), lonlat_territory, {2015: 5, 2024: 5})


# --- Batch -----------------------------------------------------------------------------------


def ground_truth(rows, territory, generation, tolerance, x, y) -> pd.DataFrame:
    """Statuses and distances computed point by point with plain shapely."""
    geoms = [r["geometry"] for r in rows if r["generation"] == generation]
    codes = [r["code"] for r in rows if r["generation"] == generation]
    out = []
    for px, py in zip(x, y, strict=True):
        p = shapely.Point(px, py)
        inside = [c for c, g in zip(codes, geoms, strict=True) if g.contains(p)]
        dist = min(g.boundary.distance(p) for g in geoms)
        if dist <= tolerance:
            status = "uncertain"
        elif inside:
            status = "in"
        elif territory.contains(p):
            status = "out"
        elif territory.boundary.distance(p) <= tolerance:
            status = "uncertain"
        else:
            status = "outside_territory"
        out.append({"status": status, "code": inside[0] if inside else None, "distance_m": dist})
    return pd.DataFrame(out)


def test_batch_matches_shapely_and_single_points(locator):
    rng = np.random.default_rng(20240101)
    n = 3_000
    # Uniform over the territory and beyond, plus points hugging the boundaries of A and B.
    x = X0 + rng.uniform(-1500, 2100, n)
    y = Y0 + rng.uniform(-1500, 1700, n)
    ring = shapely.get_coordinates(shapely.boundary(shifted(box(0, 0, 200, 200))))
    k = rng.integers(0, len(ring) - 1, 500)
    t = rng.uniform(0, 1, 500)
    x[:500] = ring[k, 0] + t * (ring[k + 1, 0] - ring[k, 0]) + rng.normal(0, 4, 500)
    y[:500] = ring[k, 1] + t * (ring[k + 1, 1] - ring[k, 1]) + rng.normal(0, 4, 500)

    got = locator.locate_many(x, y, generation=2015, crs="EPSG:2154")
    truth = ground_truth(tiny_rows(), TERRITORY, 2015, TOL_2015, x, y)
    assert list(got["status"].astype(str)) == list(truth["status"])
    assert values(got["code"]) == values(truth["code"])
    np.testing.assert_allclose(got["distance_m"], truth["distance_m"], atol=1e-6)
    assert set(got["status"].cat.categories) == set(STATUSES)
    assert (got["status"] == "uncertain").sum() > 50  # the sample really tests the band

    for i in rng.choice(n, 200, replace=False):
        v = locator.locate_xy(x[i], y[i], generation=2015)
        row = got.iloc[i]
        assert v.status == row["status"]
        assert v.distance_m == pytest.approx(row["distance_m"])
        assert (v.within_300m, v.within_500m) == (row["within_300m"], row["within_500m"])
        if v.status != "in":
            assert v.nearest.code == row["nearest_code"]


def test_batch_in_wgs84_keeps_the_series_index(locator):
    x, y = xy(500, 100)
    lon, lat = TO_WGS84.transform(x, y)
    index = pd.Index(["a", "b"])
    got = locator.locate_many(
        pd.Series([lon, lon + 0.05], index=index),
        pd.Series([lat, lat], index=index),
        generation=2015,
    )
    assert list(got.index) == ["a", "b"]
    assert got.loc["a", "status"] == "in" and got.loc["a", "code"] == "QPB"
    assert got.loc["b", "status"] == "outside_territory"  # about 3.5 km east


def test_batch_precision_per_point(locator):
    x = np.array([X0 + 40, X0 + 40, X0 + 500])
    y = np.array([Y0 + 188, Y0 + 188, Y0 + 100])
    precision = precisions_for_types(["housenumber", "housenumber", "street"])
    precision[1] = 0.0  # a point given directly (map click)
    got = locator.locate_many(x, y, generation=2015, crs="EPSG:2154", precision_m=precision)
    assert list(got["status"]) == ["uncertain", "in", "uncertain"]
    assert values(got["reason"]) == [
        "boundary",
        None,
        "precision",
    ]


def test_overlapping_quartiers_are_all_reported():
    rows = tiny_rows()[:2]
    rows.append(
        dict(rows[0], code="QPC", name="Quartier C", geometry=shifted(box(150, 0, 450, 200)))
    )
    loc = Locator(qpv_frame(rows), TERRITORY, {2015: TOL_2015})
    v = loc.locate_xy(*xy(175, 50), generation=2015)
    assert set(v.codes) == {"QPA", "QPC"}
    got = loc.locate_many(
        [X0 + 175, X0 + 300], [Y0 + 50, Y0 + 50], generation=2015, crs="EPSG:2154"
    )
    assert list(got["n_qpv"]) == [2, 1]


def test_membership_fast_path_matches_shapely(locator):
    rng = np.random.default_rng(7)
    x = X0 + rng.uniform(-200, 800, 20_000)
    y = Y0 + rng.uniform(-200, 400, 20_000)
    codes = locator.membership(x, y, generation=2015, crs="EPSG:2154")
    truth = ground_truth(tiny_rows(), TERRITORY, 2015, TOL_2015, x[:2000], y[:2000])["code"]
    assert values(codes[:2000]) == values(truth)


# --- Real 2015 perimeters (mirror) -----------------------------------------------------------

CALL = "246200364"


@pytest.fixture(scope="module")
def real(mirror_dir: Path):
    """The CALL's 2015 perimeters and territory read straight from the mirror files."""
    shp = gpd.read_file(mirror_dir / "qpv-2015" / "QP_METROPOLE_LB93.shp", encoding="cp1252")
    shp = shp.set_crs("EPSG:2154", allow_override=True)  # the .prj names IGNF:LAMB93
    pop = pd.read_csv(mirror_dir / "qpv-2015" / "pop_qp_2013.csv", sep=";", dtype=str)
    codes = set(pop.loc[(pop["epci1"] == CALL) | (pop["epci2"] == CALL), "qp"])
    qpv = shp[shp["CODE_QP"].isin(codes)].copy()
    qpv["geometry"] = shapely.make_valid(qpv.geometry.values)
    frame = gpd.GeoDataFrame(
        {
            "code": qpv["CODE_QP"].to_numpy(),
            "name": qpv["NOM_QP"].to_numpy(),
            "generation": 2015,
            "commune_names": qpv["COMMUNE_QP"].str.replace(r"\s+", " ", regex=True).to_numpy(),
            "commune_codes": "",
        },
        geometry=qpv.geometry.to_numpy(),
        crs="EPSG:2154",
    )
    epci = json.loads((mirror_dir / "communes" / "epci.json").read_text("utf-8"))
    members = {m["code"] for e in epci if e["code"] == CALL for m in e["membres"]}
    communes = gpd.read_file(mirror_dir / "communes" / "communes-62-pas-de-calais.geojson")
    territory = shapely.union_all(communes[communes["code"].isin(members)].to_crs(2154).geometry)
    return frame, territory, Locator(frame, territory, {2015: TOL_2015})


@pytest.mark.mirror
def test_real_representative_point_is_in_its_quartier(real):
    frame, _, loc = real
    geom = frame.loc[frame["code"] == "QP062025", "geometry"].iloc[0]
    p = geom.representative_point()
    v = loc.locate_xy(p.x, p.y, generation=2015)
    assert v.status == "in"
    assert v.codes == ("QP062025",)
    assert v.qpv[0].name == "Grande Résidence"
    assert v.qpv[0].communes == ("Lens", "Vendin-le-Vieil", "Loison-sous-Lens")
    assert v.distance_m == pytest.approx(geom.boundary.distance(p))
    lon, lat = TO_WGS84.transform(p.x, p.y)
    assert loc.locate(lon, lat, generation=2015).codes == ("QP062025",)


@pytest.mark.mirror
def test_real_point_a_kilometre_from_every_quartier_is_out(real):
    frame, territory, loc = real
    minx, miny, maxx, maxy = frame.total_bounds
    union = shapely.union_all(frame.geometry.values)
    candidates = [shapely.Point(minx - 1000, y) for y in np.linspace(miny, maxy, 50)]
    candidates += [shapely.Point(x, maxy + 1000) for x in np.linspace(minx, maxx, 50)]
    candidates += [shapely.Point(x, miny - 1000) for x in np.linspace(minx, maxx, 50)]
    inside = [
        p for p in candidates if territory.contains(p) and territory.boundary.distance(p) > 50
    ]
    assert inside, "no test point found inside the territory"
    for p in inside[:10]:
        v = loc.locate_xy(p.x, p.y, generation=2015)
        assert v.status == "out"
        assert v.distance_m == pytest.approx(union.distance(p), abs=1e-6)
        assert v.distance_m >= 1000
        nearest = frame.iloc[int(np.argmin(frame.distance(p)))]
        assert v.nearest.code == nearest["code"]
        assert v.within_300m is False


@pytest.mark.mirror
def test_real_boundary_vertex_is_uncertain(real):
    frame, _, loc = real
    geom = frame.loc[frame["code"] == "QP062024", "geometry"].iloc[0]
    vx, vy = shapely.get_coordinates(geom.exterior if geom.geom_type == "Polygon" else geom)[3]
    v = loc.locate_xy(vx, vy, generation=2015)
    assert v.status == "uncertain"
    assert v.distance_m == pytest.approx(0.0, abs=1e-9)
    assert v.nearest.code == "QP062024"
    assert "sur la limite" in v.reason


@pytest.mark.mirror
def test_real_batch_matches_shapely(real):
    frame, territory, loc = real
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = territory.bounds
    x = rng.uniform(minx, maxx, 20_000)
    y = rng.uniform(miny, maxy, 20_000)
    got = loc.locate_many(x, y, generation=2015, crs="EPSG:2154")
    pts = shapely.points(x, y)
    tree = shapely.STRtree(frame.geometry.values)
    src, hit = tree.query(pts, predicate="within")
    expected = np.full(len(x), None, dtype=object)
    expected[src] = frame["code"].to_numpy()[hit]
    assert values(got["code"]) == list(expected)
    boundaries = shapely.union_all(frame.boundary.values)
    np.testing.assert_allclose(got["distance_m"], shapely.distance(pts, boundaries), atol=1e-6)
    inside = got[got["code"].notna()]
    near = inside["distance_m"] <= TOL_2015
    assert (inside.loc[near, "status"] == "uncertain").all()
    assert (inside.loc[~near, "status"] == "in").all()


@pytest.mark.mirror
def test_locator_from_the_processed_dataset(dataset):
    loc = Locator.from_dataset(dataset)
    assert loc.generations == (2015, 2024)
    assert loc.tolerance_m(2024) == dataset.tolerance_m(2024)
    for generation, code in [(2015, "QP062025"), (2024, "QN06225M")]:
        qpv = dataset.qpv_of(generation)
        geom = qpv.loc[qpv["code"] == code, "geometry"].iloc[0]
        # The point of the perimeter farthest inside, so that even 120 m of tolerance is exceeded.
        circle = shapely.maximum_inscribed_circle(geom)  # centre -> nearest boundary point
        p = shapely.get_point(circle, 0)
        v = loc.locate_xy(p.x, p.y, generation=generation)
        assert v.codes == (code,)
        assert v.distance_m == pytest.approx(circle.length, rel=1e-6)
        assert v.status == ("in" if v.distance_m > loc.tolerance_m(generation) else "uncertain")


def sample_points(dataset, n: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Real places, fixed seed: points near every quartier boundary and across the territory."""
    rng = np.random.default_rng(7)
    boundary = shapely.get_coordinates(shapely.boundary(dataset.qpv.geometry.to_numpy()))
    near = boundary[rng.integers(0, len(boundary), n // 2)] + rng.normal(0, 60, (n // 2, 2))
    minx, miny, maxx, maxy = dataset.territory.total_bounds
    spread = np.column_stack(
        [
            rng.uniform(minx - 3_000, maxx + 3_000, n // 2),
            rng.uniform(miny - 3_000, maxy + 3_000, n // 2),
        ]
    )
    points = np.concatenate([near, spread])
    return points[:, 0], points[:, 1]


@pytest.mark.mirror
def test_locator_read_from_the_stored_index_gives_the_same_verdicts(dataset):
    import dataclasses

    assert dataset.locator_index  # the build kept the boundary indexes
    stored = Locator.from_dataset(dataset)
    computed = Locator.from_dataset(dataclasses.replace(dataset, locator_index=None))
    # The stored arrays are the ones answering (not recomputed behind our back).
    assert np.shares_memory(
        stored._area.segments.cell_dist, dataset.locator_index["territory__cell_dist"]
    )
    assert not np.shares_memory(
        computed._area.segments.cell_dist, dataset.locator_index["territory__cell_dist"]
    )
    x, y = sample_points(dataset)
    for generation in (2015, 2024):
        ours = stored.locate_many(x, y, generation=generation, crs="EPSG:2154")
        theirs = computed.locate_many(x, y, generation=generation, crs="EPSG:2154")
        pd.testing.assert_frame_equal(ours, theirs)
        assert set(ours["status"]) >= {"in", "out", "uncertain", "outside_territory"}


@pytest.mark.mirror
def test_a_stored_index_that_does_not_fit_is_ignored(dataset):
    """Arrays from another grid or other boundaries never decide a verdict: they are recomputed."""
    other_grid = Locator.from_dataset(dataset, cell_size_m=250.0)
    index = dict(dataset.locator_index)
    index["2024__table3"] = index["2024__table3"][:10]  # cut short
    cut = Locator.from_dataset(dataset, index=index)
    reference = Locator.from_dataset(dataset, index=None)
    x, y = sample_points(dataset, 4_000)
    for loc in (other_grid, cut):
        for generation in (2015, 2024):
            pd.testing.assert_frame_equal(
                loc.locate_many(x, y, generation=generation, crs="EPSG:2154")[["status", "code"]],
                reference.locate_many(x, y, generation=generation, crs="EPSG:2154")[
                    ["status", "code"]
                ],
            )
