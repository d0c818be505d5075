"""The command line end to end: ``python -m geo info | locate | check`` in a subprocess.

``build`` is tested in test_build.py. The processed tables come from the ``processed`` fixture;
addresses go to the Géoplateforme stand-in (``QPV_GEOCODER_URL``).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geo.cache import sha256_file
from geo.checkfile import added_columns
from geo.export import read_csv_fr
from geo.store import BuildReport, load_dataset

pytest_plugins = ["geoplateforme_fixtures"]  # the geoplateforme fixtures

REPO = Path(__file__).resolve().parent.parent


def run_geo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "geo", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )


@pytest.fixture(scope="module")
def inside_qp062025(dataset) -> tuple[str, str]:
    """Longitude and latitude (text) of a point inside the 2015 perimeter of QP062025."""
    qpv = dataset.qpv.set_index("code")
    point = qpv.geometry["QP062025"].representative_point()
    wgs84 = gpd.GeoSeries([point], crs=qpv.crs).to_crs(4326).iloc[0]
    return f"{wgs84.x:.7f}", f"{wgs84.y:.7f}"


def test_info_prints_the_territory_and_its_quartiers(processed):
    done = run_geo("info")

    assert done.returncode == 0, done.stderr
    assert "Territoire : CA de Lens - Liévin (SIREN 246200364)" in done.stdout
    assert "QPV 2015 du contrat : 21 dans 19 communes, 56\u202f398 habitants en 2013" in done.stdout
    assert "Millésimes des sources :" in done.stdout


def test_info_json_is_the_build_report(processed):
    done = run_geo("info", "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["territory"]["siren"] == "246200364"
    assert report["generations"]["2015"]["tolerance_m"] == 5.0
    assert report["generations"]["2024"]["population_year"] is None  # the source gives none
    assert BuildReport.from_json(report) == load_dataset().report  # read back, same dataclass


def test_locate_json_gives_the_quartier_containing_the_point(processed, inside_qp062025):
    done = run_geo("locate", *inside_qp062025, "--generation", "2015", "--json")

    assert done.returncode == 0, done.stderr
    (answer,) = json.loads(done.stdout)
    assert answer["generation"] == 2015
    assert answer["status"] == "in"
    assert answer["qpv"][0]["code"] == "QP062025"
    assert answer["qpv"][0]["name"] == "Grande Résidence"
    assert answer["qpv"][0]["communes"] == ["Lens", "Vendin-le-Vieil", "Loison-sous-Lens"]
    assert answer["nearest"] is None
    assert answer["distance_m"] > 0
    assert answer["within_300m"] is True
    assert answer["lon"] == pytest.approx(float(inside_qp062025[0]))


def point_in(dataset, code: str) -> tuple[str, str]:
    """Longitude and latitude (text) of a point inside quartier ``code``."""
    qpv = dataset.qpv.set_index("code")
    wgs84 = gpd.GeoSeries([qpv.geometry[code].representative_point()], crs=qpv.crs)
    point = wgs84.to_crs(4326).iloc[0]
    return f"{point.x:.7f}", f"{point.y:.7f}"


def test_locate_names_the_contract_of_a_neighbours_quartier(processed, dataset):
    lon, lat = point_in(dataset, "QP062043")  # La Plaine du 7: the CA d'Hénin-Carvin's contract

    answers = json.loads(run_geo("locate", lon, lat, "--json").stdout)
    text = run_geo("locate", lon, lat).stdout

    assert [(a["status"], a["qpv"][0]["code"]) for a in answers] == [
        ("in", "QN06243M"),
        ("in", "QP062043"),
    ]
    assert [a["contract"] for a in answers] == ["CA d'Hénin-Carvin", "CA d'Hénin-Carvin"]
    assert answers[1]["qpv"][0]["contract"] == "CA d'Hénin-Carvin"
    assert (
        "Dans le quartier prioritaire La Plaine Du 7 (QP062043), du contrat de ville de la "
        "CA d'Hénin-Carvin, sur les communes de Montigny-en-Gohelle"
    ) in text


def test_locate_json_of_a_quartier_of_the_contract_has_no_other_contract(
    processed, inside_qp062025
):
    answers = json.loads(run_geo("locate", *inside_qp062025, "--json").stdout)

    assert [a["contract"] for a in answers] == [None, None]


def test_locate_json_lists_2024_then_2015(processed, inside_qp062025):
    done = run_geo("locate", *inside_qp062025, "--json")

    answers = json.loads(done.stdout)
    assert [a["generation"] for a in answers] == [2024, 2015]
    assert {a["status"] for a in answers} <= {"in", "out", "uncertain", "outside_territory"}
    assert answers[0]["qpv"][0]["code"] == "QN06225M"  # its 2024 successor holds the point too


def test_locate_says_a_french_sentence_per_generation(processed, inside_qp062025):
    lon, lat = inside_qp062025
    done = run_geo("locate", lon.replace(".", ","), lat)  # a decimal comma is fine

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Périmètres 2024 (en vigueur) : ")
    assert lines[1] == (
        "Périmètres 2015 (contrat de ville 2015-2023) : Dans le quartier prioritaire "
        "Grande Résidence (QP062025), sur les communes de Lens, Vendin-le-Vieil et "
        "Loison-sous-Lens."
    )


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        ("200", "100", "Erreur : Coordonnées hors de la France métropolitaine : longitude 200.0"),
        ("50.45", "2.83", "Vérifiez que la longitude et la latitude ne sont pas inversées"),
        (
            "abc",
            "50.4",
            "Erreur : La longitude doit être un nombre en degrés décimaux (virgule ou point), "
            "pas « abc ».",
        ),
        ("nan", "50.4", "Erreur : La longitude doit être un nombre fini."),
    ],
)
def test_locate_refuses_absurd_coordinates_in_french(processed, lon, lat, message):
    done = run_geo("locate", lon, lat)

    assert done.returncode != 0
    assert message in done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


def test_locate_far_away_in_france_is_outside_the_territory(processed):
    done = run_geo("locate", "-1.5536", "47.2184", "--json")  # Nantes: a negative longitude

    assert done.returncode == 0, done.stderr
    assert {a["status"] for a in json.loads(done.stdout)} == {"outside_territory"}


def write_lonlat_csv(path: Path, inside: tuple[str, str]) -> Path:
    path.write_text(
        "nom;lon;lat\n"
        f"dedans;{inside[0].replace('.', ',')};{inside[1].replace('.', ',')}\n"
        "vide;;\n"
        "Paris;2,3522;48,8566\n",
        encoding="cp1252",
    )
    return path


def test_check_lonlat_csv_writes_the_annotated_rows(processed, inside_qp062025, tmp_path):
    source = write_lonlat_csv(tmp_path / "points.csv", inside_qp062025)
    out = tmp_path / "resultat.csv"

    done = run_geo("check", str(source), "-o", str(out), "--lonlat-columns", "lon,lat")

    assert done.returncode == 0, done.stderr
    rows = read_csv_fr(out.read_bytes())
    assert list(rows.columns) == ["nom", "lon (fichier)", "lat (fichier)", *added_columns()]
    assert list(rows["nom"]) == ["dedans", "vide", "Paris"]
    assert list(rows["qpv_2015_statut"]) == ["dans", "non localisée", "hors territoire"]
    assert rows.loc[0, "qpv_2015_code"] == "QP062025"
    assert rows.loc[0, "qpv_2015_nom"] == "Grande Résidence"
    assert rows.loc[0, "qpv_2015_distance_m"] == 0
    assert rows.loc[0, "lon"] == pytest.approx(float(inside_qp062025[0]), abs=1e-6)
    assert rows.loc[1, "qpv_2015_remarque"] == "coordonnées manquantes"
    assert "3 lignes vérifiées" in done.stdout
    assert "Périmètres 2015 (contrat de ville 2015-2023) : 1 dans" in done.stdout


def test_check_writes_excel_and_guesses_the_columns(processed, inside_qp062025, tmp_path):
    source = write_lonlat_csv(tmp_path / "points.csv", inside_qp062025)
    out = tmp_path / "resultat.xlsx"

    done = run_geo("check", str(source), "-o", str(out))

    assert done.returncode == 0, done.stderr
    rows = pd.read_excel(out, dtype=str)
    assert rows.loc[0, "qpv_2015_code"] == "QP062025"
    assert rows.loc[2, "qpv_2024_statut"] == "hors territoire"


def test_check_geocodes_address_columns(processed, geoplateforme, tmp_path):
    source = tmp_path / "adresses.csv"
    source.write_text("id,adresse,ville\n1,adresse de test QP062025,Lens\n2,,\n", encoding="utf-8")
    out = tmp_path / "resultat.csv"

    done = run_geo(
        "check", str(source), "-o", str(out), "--address-columns", "adresse,ville",
        env={"QPV_GEOCODER_URL": geoplateforme.url},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    rows = read_csv_fr(out.read_bytes())
    assert rows.loc[0, "geocodage_label"] == "Lens (adresse de test, QP062025)"
    assert list(rows["qpv_2015_statut"]) == ["dans", "non localisée"]
    assert geoplateforme.count("/search/csv") == 1
    assert "adresse de test" not in done.stderr  # addresses are never echoed


def test_check_remarks_a_neighbours_quartier(processed, dataset, tmp_path):
    lon, lat = point_in(dataset, "QP062043")
    source = tmp_path / "points.csv"
    source.write_text(f"nom;lon;lat\nplaine;{lon};{lat}\n", encoding="utf-8")
    out = tmp_path / "resultat.csv"

    done = run_geo("check", str(source), "-o", str(out), "--lonlat-columns", "lon,lat")

    assert done.returncode == 0, done.stderr
    row = read_csv_fr(out.read_bytes()).iloc[0]
    for generation in (2024, 2015):
        assert row[f"qpv_{generation}_statut"] == "dans"
        assert row[f"qpv_{generation}_remarque"] == (
            "quartier du contrat de ville de la CA d'Hénin-Carvin"
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "{tmp}/r.txt"], "Le fichier résultat doit finir par .csv ou .xlsx"),
        (["-o", "{tmp}/r.csv", "--lonlat-columns", "lon"], "--lonlat-columns attend deux"),
        (["-o", "{tmp}/r.csv", "--lonlat-columns", "x,y"], "Colonne(s) absente(s) du fichier"),
    ],
)
def test_check_refuses_bad_options_in_french(processed, inside_qp062025, tmp_path, args, message):
    source = write_lonlat_csv(tmp_path / "points.csv", inside_qp062025)

    done = run_geo("check", str(source), *(a.format(tmp=tmp_path) for a in args))

    assert done.returncode == 1
    assert message in done.stderr
    assert not (tmp_path / "r.csv").exists()


def test_check_refuses_an_unusable_file_in_french(processed, tmp_path):
    source = tmp_path / "image.csv"
    source.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")

    done = run_geo("check", str(source), "-o", str(tmp_path / "r.csv"))

    assert done.returncode == 1
    assert "Erreur : Ce fichier n'est pas un fichier texte CSV (contenu binaire)" in done.stderr


def test_check_with_no_usable_column_says_what_to_do(processed, tmp_path):
    source = tmp_path / "rien.csv"
    source.write_text("foo;bar\n1;2\n", encoding="utf-8")

    done = run_geo("check", str(source), "-o", str(tmp_path / "r.csv"))

    assert done.returncode == 1
    assert "Aucune colonne d'adresse ni de coordonnées reconnue parmi : foo, bar." in done.stderr


# ---------------------------------------------------------------------------------------------
# Nothing the user gave is lost; the command line speaks French, even when things go wrong


@pytest.mark.parametrize("how", ["same path", "other spelling", "symbolic link", "hard link"])
def test_check_never_writes_over_its_input(processed, inside_qp062025, tmp_path, how):
    source = write_lonlat_csv(tmp_path / "points.csv", inside_qp062025)
    before = source.read_bytes()
    output = {
        "same path": source,
        "other spelling": tmp_path / "." / "sous" / ".." / "points.csv",
        "symbolic link": tmp_path / "lien.csv",
        "hard link": tmp_path / "dur.csv",
    }[how]
    (tmp_path / "sous").mkdir()
    if how == "symbolic link":
        output.symlink_to(source)
    elif how == "hard link":
        output.hardlink_to(source)

    done = run_geo("check", str(source), "-o", str(output), "--overwrite")

    assert done.returncode == 1
    assert "est le fichier d'entrée lui-même : il serait écrasé" in done.stderr
    assert source.read_bytes() == before
    assert "Traceback" not in done.stderr


def test_check_replaces_an_existing_file_only_when_asked(processed, inside_qp062025, tmp_path):
    source = write_lonlat_csv(tmp_path / "points.csv", inside_qp062025)
    output = tmp_path / "classeur.xlsx"
    output.write_bytes(b"the user's own workbook, with other sheets")

    refused = run_geo("check", str(source), "-o", str(output))
    assert refused.returncode == 1
    assert "existe déjà : il n'est pas remplacé" in refused.stderr
    assert "ses autres feuilles seraient perdues" in refused.stderr
    assert output.read_bytes() == b"the user's own workbook, with other sheets"

    done = run_geo("check", str(source), "-o", str(output), "--overwrite")
    assert done.returncode == 0, done.stderr
    assert pd.read_excel(output, dtype=str).loc[0, "qpv_2015_code"] == "QP062025"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classeur.xlsx", "points.csv"]
    assert oct(output.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_check_reports_what_the_reading_did(processed, tmp_path):
    source = tmp_path / "points.csv"
    source.write_bytes("nom;lon;lat;nom\nLiévin;2,8;50,4;x\n".encode("mac_roman"))

    done = run_geo(
        "check", str(source), "-o", str(tmp_path / "r.csv"), "--lonlat-columns", "lon,lat"
    )

    assert done.returncode == 0, done.stderr
    assert "Attention : Plusieurs colonnes portent le même nom" in done.stderr
    assert list(read_csv_fr((tmp_path / "r.csv").read_bytes())["nom (2)"]) == ["x"]


def test_check_tells_when_excel_cuts_a_long_cell(processed, inside_qp062025, tmp_path):
    source = tmp_path / "points.csv"
    long_text = "x" * 40_000
    source.write_text(f"nom;lon;lat\n{long_text};{inside_qp062025[0]};{inside_qp062025[1]}\n")

    done = run_geo("check", str(source), "-o", str(tmp_path / "r.xlsx"))

    assert done.returncode == 0, done.stderr
    assert "Attention : 1 cellule dépasse 32\u202f767 caractères" in done.stderr
    assert "colonne « nom », ligne 2" in done.stderr
    cell = pd.read_excel(tmp_path / "r.xlsx", dtype=str).loc[0, "nom"]
    assert len(cell) == 32_767 and cell.endswith("…")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["chek"], "python -m geo : erreur : argument COMMANDE : choix invalide : 'chek'"),
        (["check"], "python -m geo check : erreur : arguments obligatoires manquants : IN"),
        (["locate", "2.8"], "erreur : arguments obligatoires manquants : LAT"),
        (["info", "--jsno"], "erreur : arguments non reconnus : --jsno"),
        (["locate", "2", "50", "--generation", "2019"], "choix invalide : '2019'"),
        (["check", "a.csv", "-o"], "argument -o/--output : une valeur est attendue"),
    ],
)
def test_usage_errors_are_in_french_with_status_2(args, message):
    done = run_geo(*args)

    assert done.returncode == 2
    assert done.stderr.startswith("utilisation : python -m geo")
    assert message in done.stderr
    assert "error" not in done.stderr and "usage" not in done.stderr


def test_help_is_in_french():
    done = run_geo("check", "--help")

    assert done.returncode == 0
    assert done.stdout.startswith("utilisation : python -m geo check [-h]")
    assert "afficher cette aide et quitter" in done.stdout
    assert "show this help" not in done.stdout


def test_an_output_piped_into_a_closed_reader_ends_quietly(processed):
    reader = subprocess.Popen(
        [sys.executable, "-m", "geo", "info"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    reader.stdout.close()  # like `| head` gone before the first line: the imports take longer
    stderr = reader.stderr.read()

    assert reader.wait(timeout=120) == 1
    assert stderr == b""


def test_info_on_a_manifest_that_is_not_an_object_says_so_in_french(processed, tmp_path):
    folder = tmp_path / processed.name
    shutil.copytree(processed, folder)
    (folder / "manifest.json").write_text("[1, 2, 3]", "utf-8")

    done = run_geo("info", env={"QPV_PROCESSED_DIR": str(tmp_path)})

    assert done.returncode == 1
    assert done.stderr.startswith("Erreur : les données préparées sont absentes ou incomplètes")
    assert "Traceback" not in done.stderr


def vouched_report(processed, tmp_path, report: dict):
    """A copy of the tables whose report is ``report``, the manifest vouching for it."""
    folder = tmp_path / processed.name
    shutil.copytree(processed, folder)
    (folder / "report.json").write_text(json.dumps(report), "utf-8")
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["outputs"]["report.json"] = sha256_file(folder / "report.json")
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def test_a_report_without_its_fields_is_unreadable_data_said_in_french(processed, tmp_path):
    vouched_report(processed, tmp_path, {})

    done = run_geo("info", env={"QPV_PROCESSED_DIR": str(tmp_path)})

    assert done.returncode == 1
    assert done.stderr.startswith("Erreur : données préparées illisibles dans ")
    assert "relancez « python -m geo build »" in done.stderr


def test_an_unexpected_error_is_one_french_line(processed, tmp_path):
    """A build report the manifest vouches for, read back whole, yet without a generation."""
    report = json.loads((processed / "report.json").read_text("utf-8"))
    del report["generations"]["2024"]
    vouched_report(processed, tmp_path, report)

    done = run_geo("info", env={"QPV_PROCESSED_DIR": str(tmp_path)})

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "Erreur inattendue (KeyError) : la commande s'est arrêtée. Relancez-la ; si l'erreur se "
        "reproduit, signalez-la en indiquant la commande lancée.\n"
    )
