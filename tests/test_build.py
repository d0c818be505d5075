"""The build on the real data of the offline mirror: the figures a user of the map checks."""

import hashlib
import json
import shutil

import geopandas as gpd
import pytest
import shapely

from geo._build_geometry import DISPLAY_TOLERANCE_M
from geo.build import build, ensure_built
from geo.errors import CacheError, DatasetUnavailableError, FolderNotWritableError
from geo.store import (
    INDEX,
    SCHEMA_VERSION,
    BuildReport,
    load_dataset,
    processed_dir,
    stale_reason,
    write_tables,
)

pytestmark = pytest.mark.mirror

CALL = "246200364"
HENIN_CARVIN = "246200299"


@pytest.fixture(scope="module")
def call(mirror_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("processed")
    result = build(CALL, mirror=mirror_dir, out_root=root, allow_download=False)
    return result, load_dataset(CALL, root=root)


def contract(data, generation):
    return data.qpv_of(generation, include_neighbouring=False)


def test_call_has_36_communes(call):
    _, data = call
    assert len(data.communes) == 36
    assert data.communes["code"].is_unique


def test_2015_contract_has_21_quartiers_in_19_communes_with_56398_residents(call):
    _, data = call
    q = contract(data, 2015)
    assert len(q) == 21
    communes = {c for codes in q["commune_codes"] for c in codes.split(",")}
    assert len(communes & set(data.communes["code"])) == 19
    assert int(q["population"].sum()) == 56398
    assert set(q["population_year"]) == {2013}


def test_la_plaine_du_7_is_neighbouring_not_in_the_contract(call):
    _, data = call
    row = data.qpv.set_index("code").loc["QP062043"]
    assert row["status"] == "voisin"
    assert len(data.qpv_of(2015)) == 22


def test_grande_residence_lies_in_three_communes_with_4803_residents(call):
    _, data = call
    row = data.qpv.set_index("code").loc["QP062025"]
    assert row["name"] == "Grande Résidence"
    assert row["commune_names"].split(", ") == ["Lens", "Vendin-le-Vieil", "Loison-sous-Lens"]
    assert row["commune_codes"].split(",") == ["62498", "62842", "62523"]
    assert row["population"] == 4803


def test_every_contract_quartier_has_communes_with_codes_and_names(call):
    _, data = call
    for row in data.qpv.itertuples():
        codes, names = row.commune_codes.split(","), row.commune_names.split(", ")
        assert codes and all(len(c) == 5 for c in codes), row.code
        assert len(codes) == len(names), row.code


def test_noyelles_sous_lens_is_not_a_2015_qpv_commune(call):
    _, data = call
    noyelles = data.communes.set_index("code").loc["62628"]
    assert noyelles["name"] == "Noyelles-sous-Lens"
    assert noyelles["n_qpv_2015"] == 0
    assert noyelles["pop_qpv_2015"] == 0
    # ... although the simplified commune polygon does touch a 2015 quartier (the sliver trap).
    communes_l93 = data.communes.to_crs(2154).set_index("code")
    touching = contract(data, 2015).intersects(communes_l93.loc["62628", "geometry"])
    assert touching.any()


def test_three_contract_quartiers_are_shared_with_a_neighbouring_epci(call):
    _, data = call
    shared = contract(data, 2015).query("shared")["code"]
    assert sorted(shared) == ["QP062016", "QP062045", "QP062047"]


def test_2024_attribution_comes_from_siren_epci(call):
    _, data = call
    q24 = data.qpv_of(2024)
    assert all(CALL in s.split(",") for s in q24["epci_sirens"])
    assert q24["code"].str.match(r"^QN062\d\d[MNI]$").all()
    # every 2015 quartier has a 2024 successor, and it is the predecessor's successor
    q15 = data.qpv_of(2015).set_index("code")
    assert q15["successor"].notna().all()
    assert q15.loc["QP062025", "successor"] == "QN06225M"
    assert data.qpv.set_index("code").loc["QN06225M", "predecessor"] == "QP062025"


def test_areas_are_computed_in_lambert93(call):
    _, data = call
    assert data.qpv.crs.to_epsg() == 2154
    row = data.qpv.set_index("code").loc["QP062025"]
    assert row["area_ha"] == pytest.approx(row.geometry.area / 1e4, abs=0.01)
    assert row["density"] == pytest.approx(4803 / (row["area_ha"] / 100), abs=1)


def test_invalid_source_polygons_are_repaired_and_reported(call):
    result, data = call
    repaired = {(r.code, r.generation) for r in result.report.repaired}
    assert {("QP062034", 2015), ("QP062035", 2015)} <= repaired
    assert data.qpv.geometry.is_valid.all()


def test_implausible_and_missing_indicators_are_flagged_not_fixed(call):
    _, data = call
    flags = data.flags
    over = flags[flags["reason"].str.contains("100")]
    row = data.qpv.set_index("code").loc["QN06227M"]
    assert row["taux_logements_sociaux"] > 100  # kept as published
    assert ("QN06227M", "taux_logements_sociaux") in set(
        zip(over["code"], over["column"], strict=True)
    )
    missing = flags[flags["reason"] == "valeur manquante"]
    assert ("QN06202M", "taux_pauvrete") in set(
        zip(missing["code"], missing["column"], strict=True)
    )


def test_display_copy_is_simplified_wgs84_and_close_to_the_original(call):
    result, data = call
    assert data.qpv_display.crs.to_epsg() == 4326
    full = shapely.get_num_coordinates(data.qpv.geometry.to_numpy()).sum()
    light = shapely.get_num_coordinates(data.qpv_display.geometry.to_numpy()).sum()
    assert light < full
    assert result.report.display_max_shift_m <= DISPLAY_TOLERANCE_M + 0.5


def test_commune_populations_cover_three_census_years(call):
    _, data = call
    lens = data.communes.set_index("code").loc["62498"]
    assert lens["name"] == "Lens"
    assert lens["pmun_2023"] == 32920
    assert lens["pmun_2022"] == 32697
    assert lens["pmun_2021"] == 32618
    assert int(data.communes["pmun_2023"].sum()) == 242013


def test_build_is_deterministic(call, mirror_dir, tmp_path):
    first, _ = call
    again = build(CALL, mirror=mirror_dir, out_root=tmp_path, allow_download=False)

    def digest(folder):
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
        }

    assert digest(first.out_dir) == digest(again.out_dir)


def test_old_schema_and_corrupt_cache_are_detected(call, tmp_path):
    first, _ = call
    copy = tmp_path / CALL
    shutil.copytree(first.out_dir, copy)
    assert stale_reason(copy) is None
    manifest = json.loads((copy / "manifest.json").read_text())
    assert stale_reason(copy, expected_inputs={**manifest["inputs"], "pop2013": "0" * 64})
    manifest["schema_version"] = 0
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert "version" in stale_reason(copy)
    with pytest.raises(CacheError):
        load_dataset(CALL, root=tmp_path)
    manifest["schema_version"] = SCHEMA_VERSION
    (copy / "manifest.json").write_text(json.dumps(manifest))
    (copy / "qpv.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(CacheError, match="illisibles"):
        load_dataset(CALL, root=tmp_path)


def torn_copy(first, root):
    """A copy of a build whose qpv.parquet lost its last two thirds (a crash mid-write)."""
    copy = root / CALL
    shutil.copytree(first.out_dir, copy)
    table = copy / "qpv.parquet"
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 3])
    return copy


def test_torn_table_is_seen_from_the_manifest_and_rebuilt_identical(call, mirror_dir, tmp_path):
    first, _ = call
    copy = torn_copy(first, tmp_path)

    reason = stale_reason(copy)
    assert "illisibles" in reason and "qpv.parquet" in reason

    assert ensure_built(CALL, mirror=mirror_dir, out_root=tmp_path, allow_download=False)
    assert (copy / "qpv.parquet").read_bytes() == (first.out_dir / "qpv.parquet").read_bytes()
    assert stale_reason(copy) is None
    data = load_dataset(CALL, root=tmp_path)
    assert len(contract(data, 2015)) == 21


@pytest.mark.parametrize("damage", ["torn", "missing"])
def test_damaged_or_missing_locator_index_is_rebuilt_identical(call, mirror_dir, tmp_path, damage):
    first, _ = call
    copy = tmp_path / CALL
    shutil.copytree(first.out_dir, copy)
    index = copy / INDEX
    if damage == "torn":
        index.write_bytes(index.read_bytes()[: index.stat().st_size // 2])
    else:
        index.unlink()

    assert INDEX in stale_reason(copy)
    with pytest.raises(CacheError, match="python -m geo build"):
        load_dataset(CALL, root=tmp_path)

    assert ensure_built(CALL, mirror=mirror_dir, out_root=tmp_path, allow_download=False)
    assert index.read_bytes() == (first.out_dir / INDEX).read_bytes()
    assert stale_reason(copy) is None
    assert load_dataset(CALL, root=tmp_path).locator_index


def test_torn_table_without_sources_says_unreadable_and_how_to_rebuild(call, tmp_path, monkeypatch):
    first, _ = call
    copy = torn_copy(first, tmp_path / "processed")
    monkeypatch.setenv("QPV_CACHE_DIR", str(tmp_path / "cache-vide"))
    torn = (copy / "qpv.parquet").read_bytes()

    with pytest.raises(DatasetUnavailableError) as error:
        ensure_built(CALL, mirror=None, out_root=tmp_path / "processed", allow_download=False)

    message = str(error.value)
    assert "illisibles" in message and "qpv.parquet" in message
    assert "python -m geo build" in message
    assert (copy / "qpv.parquet").read_bytes() == torn  # left as found, never "repaired"
    with pytest.raises(CacheError, match=r"illisibles.*python -m geo build"):
        load_dataset(CALL, root=tmp_path / "processed")


def test_unwritable_processed_folder_is_said_in_french(tmp_path):
    blocker = tmp_path / "un-fichier"
    blocker.write_text("")

    with pytest.raises(FolderNotWritableError) as error:
        write_tables(blocker / "processed" / CALL, {}, BuildReport(), manifest={}, index={})

    assert "(un élément du chemin n'est pas un dossier)" in str(error.value)
    assert "Not a directory" not in str(error.value)
    assert error.value.env == "QPV_PROCESSED_DIR"


def test_another_epci_of_the_pas_de_calais_builds_from_the_mirror(mirror_dir, tmp_path):
    build(HENIN_CARVIN, mirror=mirror_dir, out_root=tmp_path, allow_download=False)
    data = load_dataset(HENIN_CARVIN, root=tmp_path)
    assert len(data.communes) == 14
    assert "QP062043" in set(data.qpv_of(2015, include_neighbouring=False)["code"])
    assert isinstance(data.qpv, gpd.GeoDataFrame)
    assert processed_dir(HENIN_CARVIN, tmp_path).is_dir()
