"""The "Vérifier un fichier" page (``/fichier``) as a user sees it, driven by AppTest.

Address columns go to the Géoplateforme stand-in (``QPV_GEOCODER_URL``); coordinates go nowhere.
A bad file gives a French message and no result.
"""

import io
import json

import apptest
import openpyxl
import pandas as pd
import pytest
from apptest import text_of, unescape
from streamlit.testing.v1 import AppTest

from geo.export import to_excel
from geo.tabular import MAX_BYTES, MAX_ROWS
from support.fake_geoplateforme import failures
from ui import fichier

pytest_plugins = ["geoplateforme_fixtures"]  # the geoplateforme fixtures

PAGE = "pages/fichier.py"
TIMEOUT = 120
CHECK = "Vérifier les {n} lignes"


def open_page() -> AppTest:
    return apptest.open_page(PAGE, timeout=TIMEOUT)


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="fichier_televerse").set_value((name, content, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def check(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label.startswith("Vérifier les ")).click().run()
    assert not at.exception, at.exception
    return at


def counts(at: AppTest) -> dict[str, list[str]]:
    table = at.table[0].value
    return {
        row["Statut"]: [row["Périmètres 2024"], row["Périmètres 2015"]]
        for _, row in table.iterrows()
    }


def lonlat_csv(inside_qp062025: tuple[str, str], *, encoding: str = "utf-8-sig") -> bytes:
    lines = [
        "nom;longitude;latitude",
        f"Élise;{inside_qp062025[0]};{inside_qp062025[1]}",
        "vide;;",
        "Paris;2,3522;48,8566",
    ]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


# ---------------------------------------------------------------------------------------------
# Results


def test_page_states_the_limits_and_that_nothing_is_kept(geocoder):
    at = open_page()

    text = text_of(at)
    assert "Taille maximale : 10\u202f000 lignes et 5 Mo au plus." in text
    assert "il n'est pas conservé" in text
    assert at.info[0].value == "Déposez un fichier pour commencer."
    assert at.file_uploader(key="fichier_televerse").proto.max_upload_size_mb == 5


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp1252"])
def test_coordinates_file_is_checked_without_any_geocoding(geocoder, inside_qp062025, encoding):
    at = upload(open_page(), "points.csv", lonlat_csv(inside_qp062025, encoding=encoding))

    assert at.radio(key="fichier_mode").value == "coordonnees"
    assert at.selectbox(key="fichier_colonne_longitude").value == "longitude"
    assert at.selectbox(key="fichier_colonne_latitude").value == "latitude"
    check(at)

    assert counts(at) == {
        "dans": ["0", "1"],
        "incertain": ["1", "0"],
        "hors": ["0", "0"],
        "hors territoire": ["1", "1"],
        "non localisée": ["1", "1"],
    }
    assert "3 lignes vérifiées" in text_of(at)
    assert "2 situées, 1 non localisée." in text_of(at)
    assert geocoder.count() == 0
    preview = at.dataframe[0].value
    assert list(preview["nom"]) == ["Élise", "vide", "Paris"]
    assert preview.loc[0, "qpv_2015_code"] == "QP062025"
    assert preview.loc[0, "qpv_2015_distance_m"] == "0,0"
    assert preview.loc[1, "qpv_2015_code"] == "—"
    assert "geocodage_label" not in preview.columns  # nothing was geocoded
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Télécharger le résultat (CSV)", "Télécharger le résultat (Excel)"]


def test_address_file_is_geocoded_with_a_progress_bar(geocoder):
    content = (
        b"id,adresse,code postal,ville\n"
        b"1,adresse de test QP062025,62300,Lens\n"
        b"2,adresse de test,62100,Calais\n"
        b"3,,,\n"
    )
    at = upload(open_page(), "adresses.csv", content)

    assert at.radio(key="fichier_mode").value == "adresses"
    assert at.multiselect(key="fichier_colonnes_adresse").value == [
        "adresse",
        "code postal",
        "ville",
    ]
    check(at)

    assert counts(at)["dans"] == ["0", "1"]
    assert counts(at)["hors territoire"] == ["1", "1"]
    assert counts(at)["non localisée"] == ["1", "1"]
    assert geocoder.count("/search/csv") == 1
    assert "(adresses des colonnes « adresse », « code postal », « ville »)" in text_of(at)
    assert at.dataframe[0].value.loc[0, "geocodage_label"] == "Lens (adresse de test, QP062025)"


def test_excel_file_is_read(geocoder, inside_qp062025):
    table = pd.DataFrame(
        {"nom": ["Élise"], "lon": [inside_qp062025[0]], "lat": [inside_qp062025[1]]}
    )
    at = upload(open_page(), "points.xlsx", to_excel(table))
    check(at)

    assert counts(at)["dans"] == ["0", "1"]
    assert at.dataframe[0].value.loc[0, "qpv_2015_nom"] == "Grande Résidence"


def test_the_map_generation_can_be_switched(geocoder, inside_qp062025):
    at = check(upload(open_page(), "points.csv", lonlat_csv(inside_qp062025)))

    assert at.radio(key="fichier_carte_generation").value == 2024
    at.radio(key="fichier_carte_generation").set_value(2015).run()
    assert not at.exception
    assert len(at.dataframe) == 1  # the result stays


def test_points_layer_colours_each_status_and_escapes_tooltips():
    rows = pd.DataFrame(
        {
            "lon": [2.83, None],
            "lat": [50.43, None],
            "qpv_2024_statut": ["dans", "non localisée"],
            "qpv_2024_code": ["QN<b>", None],
            "qpv_2024_nom": ["<script>x</script>", None],
        }
    )

    layer = fichier.points_layer(rows, 2024)

    assert '"fillColor": "#0072B2"' in layer.geojson
    assert "&lt;script&gt;x&lt;/script&gt; (QN&lt;b&gt;)" in layer.geojson
    assert "<script>" not in layer.geojson
    assert layer.geojson.count('"Feature"') == 1  # the row without a point is not drawn
    assert layer.bounds == ((50.43, 2.83), (50.43, 2.83))  # the map fits the points
    assert fichier.points_layer(rows.iloc[1:], 2024) is None


# ---------------------------------------------------------------------------------------------
# Bad files: a French message, no result


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("vide.csv", b"", "Le fichier est vide."),
        ("blanc.csv", b"\r\n\r\n  \r\n", "Le fichier ne contient aucune donnée."),
        ("entete.csv", b"adresse;ville\r\n", "aucune ligne de données"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "contenu binaire"),
        ("faux.xlsx", b"nom;adresse\nA;1 rue\n", "n'est pas un classeur Excel .xlsx valide"),
        (
            "gros.csv",
            b"a;b\n" + b"1;2\n" * (MAX_BYTES // 4 + 1),
            "pèse 5\u202f242\u202f888 octets : la limite est de 5 Mo (5\u202f242\u202f880 octets)",
        ),
        ("long.csv", b"a;b\n" + b"1;2\n" * (MAX_ROWS + 1), "la limite est de 10\u202f000"),
        ("vieux.xls", b"\xd0\xcf\x11\xe0", "Excel 97-2003 (.xls) n'est pas pris en charge"),
    ],
)
def test_unusable_file_gives_a_french_message_and_no_result(geocoder, name, content, message):
    at = upload(open_page(), name, content)

    assert len(at.error) == 1
    assert message in unescape(at.error[0].value)
    assert not [b for b in at.button if b.label.startswith("Vérifier")]
    assert not at.table and not at.get("download_button")
    assert geocoder.count() == 0


def test_file_with_no_usable_column_asks_for_columns(geocoder):
    at = upload(open_page(), "rien.csv", b"foo;bar\n1;2\n")

    assert "Aucune colonne ne ressemble à une adresse" in at.warning[0].value
    button = next(b for b in at.button if b.label == CHECK.format(n=1))
    assert button.disabled
    assert at.multiselect(key="fichier_colonnes_adresse").value == []


def test_a_bad_file_after_a_good_one_shows_no_stale_result(geocoder, inside_qp062025):
    at = check(upload(open_page(), "points.csv", lonlat_csv(inside_qp062025)))
    assert at.table

    upload(at, "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00")

    assert "contenu binaire" in at.error[0].value
    assert not at.table and not at.get("download_button")


@pytest.mark.parametrize(
    ("mode", "options", "message"), failures("rate_limit", "error", "bad_csv", "slow")
)
def test_geocoder_failure_gives_a_french_message_and_no_result(
    geocoder, monkeypatch, mode, options, message
):
    monkeypatch.setattr(fichier, "BULK_TIMEOUT", (1.0, 0.5))  # the slow answer takes 1,5 s
    content = b"adresse;ville\nadresse de test QP062025;Lens\n"
    at = upload(open_page(), "adresses.csv", content)
    geocoder.set_mode(mode, **options)

    check(at)

    assert message in unescape(at.error[0].value)
    assert "Aucune ligne n'a été vérifiée." in at.error[0].value
    assert not at.table and not at.get("download_button")


# ---------------------------------------------------------------------------------------------
# What the reading did is said; lines are the user's


def test_the_encoding_and_renamed_columns_are_said(geocoder, inside_qp062025):
    content = (
        f"nom;longitude;latitude;nom\r\nLiévin;{inside_qp062025[0]};{inside_qp062025[1]};Hénin\r\n"
    ).encode("mac_roman")

    at = upload(open_page(), "points.csv", content)

    assert "points.csv : 1 ligne, 4 colonnes (CSV séparé par « ; », encodage MacRoman)." in (
        text_of(at)
    )
    (warning,) = at.warning
    assert unescape(warning.value).startswith("Plusieurs colonnes portent le même nom")
    assert "« nom » (« nom », « nom (2) »)" in unescape(warning.value)


def test_formulas_without_a_value_are_said(geocoder):
    book = openpyxl.Workbook()
    book.active.append(["adresse", "ville"])
    book.active.append(['=CONCAT("12 rue";" de la Gare")', "Lens"])
    buffer = io.BytesIO()
    book.save(buffer)

    at = upload(open_page(), "adresses.xlsx", buffer.getvalue())

    assert "classeur Excel, première feuille (« Sheet »)" in text_of(at)
    assert any(
        unescape(w.value).startswith("La colonne « adresse » (A) contient des formules dont le "
                                     "classeur n'a pas enregistré la valeur (lignes 2)")
        for w in at.warning
    )  # fmt: skip


def test_the_preview_and_the_map_give_the_line_of_the_users_file(geocoder, inside_qp062025):
    lon, lat = inside_qp062025
    content = f"nom;longitude;latitude\r\n\r\nA;{lon};{lat}\r\n\r\n\r\nB;{lon};{lat}\r\n".encode()

    at = check(upload(open_page(), "points.csv", content))

    preview = at.dataframe[0].value
    assert list(preview["ligne du fichier"]) == ["3", "6"]
    # The points the map receives (2024 shown first) say the same lines in their tooltips.
    data = json.loads(apptest.component(at, "fichier_carte").proto.json)["map"]
    points = next(layer for layer in data["layers"] if layer["id"] == "points")
    tooltips = [f["properties"]["tooltip"] for f in json.loads(points["geojson"])["features"]]
    assert [t.split(" : ")[0] for t in tooltips] == ["Ligne 3", "Ligne 6"]


def test_a_cell_too_long_for_excel_is_said_under_the_excel_button(geocoder, inside_qp062025):
    lon, lat = inside_qp062025
    content = f"nom;longitude;latitude\r\n{'x' * 40_000};{lon};{lat}\r\n".encode()

    at = check(upload(open_page(), "points.csv", content))

    captions = [unescape(c.value) for c in at.caption]
    assert any(
        "1 cellule dépasse 32\u202f767 caractères, le maximum d'une cellule Excel" in c
        and "(dans le classeur : colonne « nom », ligne 2). Le fichier CSV la garde entière." in c
        for c in captions
    ), captions
