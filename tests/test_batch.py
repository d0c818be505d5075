"""geo.batch: a table in, the same rows out with their QPV status for 2024 and 2015.

Runs on the processed CALL data; addresses go to the Géoplateforme stand-in on 127.0.0.1.
"""

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.checkfile import added_columns, check_table, summary_lines
from geo.errors import GeocoderParseError, GeocoderUnavailable, InputError
from geo.export import read_csv_fr, to_csv_fr
from geo.format import fr_distance
from geo.locate import build_locator, locate_point
from geo.verdict import NOT_LOCATED, STATUS_ORDER, describe_verdict

pytest_plugins = ["geoplateforme_fixtures"]  # the geoplateforme fixtures


@pytest.fixture(scope="module")
def locator(dataset):
    return build_locator(dataset)


def lonlat_of(geometry, crs) -> tuple[float, float]:
    point = gpd.GeoSeries([geometry.representative_point()], crs=crs).to_crs(4326).iloc[0]
    return point.x, point.y


@pytest.fixture(scope="module")
def points(dataset) -> dict[str, tuple[float, float]]:
    """Real points: inside QP062025 (2015), and in a commune of the CALL without any quartier."""
    qpv = dataset.qpv.set_index("code")
    communes = dataset.communes
    no_qpv = communes[(communes["n_qpv_2015"] == 0) & (communes["n_qpv_2024"] == 0)]
    return {
        "QP062025": lonlat_of(qpv.geometry["QP062025"], qpv.crs),
        "sans_qpv": lonlat_of(no_qpv.geometry.iloc[0], communes.crs),
    }


def text(value: float) -> str:
    return f"{value:.6f}"


# ---------------------------------------------------------------------------------------------
# Coordinates: nothing is sent anywhere


def test_coordinates_give_status_code_name_and_distance_for_both_generations(locator, points):
    inside_lon, inside_lat = points["QP062025"]
    out_lon, out_lat = points["sans_qpv"]
    table = pd.DataFrame(
        {
            "nom": ["dedans", "dehors", "Paris"],
            "x": [text(inside_lon).replace(".", ","), text(out_lon), "2.3522"],
            "y": [text(inside_lat), text(out_lat), "48.8566"],
        }
    )

    result = check_table(table, locator, lonlat_columns=("x", "y"))
    rows = result.rows

    assert list(rows.columns) == ["nom", "x", "y", *added_columns()]
    assert list(rows["nom"]) == ["dedans", "dehors", "Paris"]  # the user's rows, in order
    assert list(rows["qpv_2015_statut"]) == ["dans", "hors", "hors territoire"]
    assert rows.loc[0, "qpv_2015_code"] == "QP062025"
    assert rows.loc[0, "qpv_2015_nom"] == "Grande Résidence"
    assert rows.loc[0, "qpv_2015_distance_m"] == 0
    assert rows.loc[0, "lon"] == pytest.approx(inside_lon, abs=1e-6)  # decimal comma read
    # Outside any quartier: no code, the distance and the nearest quartier in the remark.
    assert pd.isna(rows.loc[1, "qpv_2015_code"])
    assert rows.loc[1, "qpv_2015_distance_m"] > 300
    assert rows.loc[1, "qpv_2015_remarque"].startswith("quartier le plus proche : ")
    assert rows.loc[1, "qpv_2024_statut"] == "hors"
    assert rows.loc[2, "qpv_2024_statut"] == "hors territoire"
    assert rows["geocodage_type"].isna().all()
    assert not result.geocoded


def test_rows_without_a_usable_point_are_never_hors(locator, points):
    lon, lat = points["QP062025"]
    table = pd.DataFrame(
        {
            "lon": ["", "abc", text(lat), "688466", "nan", "-74.0", text(lon)],
            "lat": ["50.4", "50.4", text(lon), "7039179", "50.4", "40.7", ""],
        }
    )

    rows = check_table(table, locator, lonlat_columns=("lon", "lat")).rows

    for g in (2015, 2024):
        assert (rows[f"qpv_{g}_statut"] == NOT_LOCATED).all()
        assert rows[f"qpv_{g}_distance_m"].isna().all()
    assert list(rows["qpv_2015_remarque"]) == [
        "coordonnées manquantes",
        "coordonnées illisibles (nombres attendus)",
        "coordonnées hors de France métropolitaine : longitude et latitude inversées ?",
        "coordonnées hors de France métropolitaine : des mètres (Lambert-93 ?) au lieu de degrés",
        "coordonnées illisibles (nombres attendus)",
        "coordonnées hors de France métropolitaine",
        "coordonnées manquantes",
    ]
    assert rows[["lon", "lat"]].isna().all().all()


def test_user_columns_named_like_added_ones_are_kept_under_another_name(locator, points):
    lon, lat = points["QP062025"]
    table = pd.DataFrame({"lon": [text(lon)], "lat": [text(lat)], "qpv_2015_statut": ["à moi"]})

    rows = check_table(table, locator, lonlat_columns=("lon", "lat")).rows

    assert rows.loc[0, "lon (fichier)"] == text(lon)
    assert rows.loc[0, "qpv_2015_statut (fichier)"] == "à moi"
    assert rows.loc[0, "qpv_2015_statut"] == "dans"
    assert list(rows.columns[3:]) == added_columns()


def test_counts_cover_every_status_and_every_row(locator, points):
    lon, lat = points["QP062025"]
    table = pd.DataFrame({"lon": [text(lon), "", "2.3522"], "lat": [text(lat), "", "48.8566"]})

    result = check_table(table, locator, lonlat_columns=("lon", "lat"))

    assert list(result.counts) == [2024, 2015]
    assert result.counts[2015] == {
        "dans": 1,
        "incertain": 0,
        "hors": 0,
        "hors territoire": 1,
        "non localisée": 1,
    }
    for counts in result.counts.values():
        assert list(counts) == list(STATUS_ORDER)
        assert sum(counts.values()) == 3
    assert (result.total, result.located) == (3, 2)
    assert result.summary_lines()[1] == (
        "Périmètres 2015 (contrat de ville 2015-2023) : 1 dans, 1 hors territoire, 1 non localisée"
    )


def test_the_summary_counts_agree_with_their_number_in_french():
    counts = {2024: {"dans": 1, "incertain": 2, "hors": 3, "hors territoire": 0, NOT_LOCATED: 2}}

    assert summary_lines(counts) == [
        "Périmètres 2024 (en vigueur) : 1 dans, 2 incertains, 3 hors, 2 non localisées"
    ]


def test_progress_goes_from_zero_to_one_in_french(locator, points):
    lon, lat = points["QP062025"]
    table = pd.DataFrame({"lon": [text(lon)] * 3, "lat": [text(lat)] * 3})
    calls = []

    check_table(
        table, locator, lonlat_columns=("lon", "lat"), on_progress=lambda f, m: calls.append((f, m))
    )

    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert calls[0][1] == "Comparaison aux périmètres 2024 : 3 lignes"
    assert calls[-1][1] == "Terminé : 3 lignes vérifiées"


def test_ten_thousand_coordinates_are_checked_in_seconds(locator, dataset):
    rng = np.random.default_rng(4)
    west, south, east, north = dataset.territory.to_crs(4326).total_bounds
    n = 10_000
    table = pd.DataFrame(
        {
            "lon": [text(v) for v in rng.uniform(west, east, n)],
            "lat": [text(v) for v in rng.uniform(south, north, n)],
        }
    )
    started = time.perf_counter()
    result = check_table(table, locator, lonlat_columns=("lon", "lat"))
    seconds = time.perf_counter() - started

    assert result.total == n
    assert sum(result.counts[2024].values()) == n
    assert result.counts[2024]["non localisée"] == 0
    assert seconds < 10, f"{seconds:.1f} s for {n} rows"


def test_the_annotated_rows_round_trip_through_a_french_csv(locator, points):
    lon, lat = points["QP062025"]
    table = pd.DataFrame({"ref": ["=1+1"], "lon": [text(lon)], "lat": [text(lat)]})
    rows = check_table(table, locator, lonlat_columns=("lon", "lat")).rows

    data = to_csv_fr(rows)
    back = read_csv_fr(data)

    assert b";" in data and data.startswith(b"\xef\xbb\xbf")
    assert back.loc[0, "ref"] == "'=1+1"  # formula neutralized
    assert back.loc[0, "qpv_2015_code"] == "QP062025"
    assert back.loc[0, "lat"] == pytest.approx(lat, abs=1e-6)  # decimal comma read back


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Choisissez soit les colonnes de l'adresse"),
        (
            {"address_columns": ["a"], "lonlat_columns": ("lon", "lat")},
            "Choisissez soit les colonnes de l'adresse",
        ),
        ({"lonlat_columns": ("lon", "absente")}, "Colonne(s) absente(s) du fichier : absente."),
        ({"lonlat_columns": ("lon", "lon")}, "deux colonnes différentes"),
        ({"address_columns": []}, "Choisissez au moins une colonne d'adresse."),
        ({"address_columns": ["rue"]}, "Colonne(s) absente(s) du fichier : rue."),
    ],
)
def test_wrong_column_choices_are_refused_in_french(locator, kwargs, message):
    table = pd.DataFrame({"lon": ["2.8"], "lat": ["50.4"]})
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_table(table, locator, **kwargs)


# ---------------------------------------------------------------------------------------------
# Addresses: geocoded in bulk by the (stand-in) Géoplateforme


def address_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["1", "2", "3", "4", "5"],
            "adresse": [
                "adresse de test QP062025",
                "",
                "zzzz yyyy",
                "adresse de test",
                "QP062025 xxxx wwww vvvv",
            ],
            "ville": ["Lens", "", "", "Calais", ""],
        }
    )


def test_addresses_are_geocoded_in_chunks_and_classified(locator, geoplateforme):
    calls = []
    result = check_table(
        address_table(),
        locator,
        address_columns=["adresse", "ville"],
        geocoder_url=geoplateforme.url,
        chunk_size=2,
        on_progress=lambda f, m: calls.append((f, m)),
    )
    rows = result.rows

    assert geoplateforme.count("/search/csv") == 3  # 5 rows, 2 per request
    assert result.geocoded
    assert list(rows["id"]) == ["1", "2", "3", "4", "5"]
    first = rows.iloc[0]
    assert first["geocodage_type"] == "housenumber"
    assert first["geocodage_label"] == "Lens (adresse de test, QP062025)"
    assert first["geocodage_score"] > 0.9
    assert (first["qpv_2015_statut"], first["qpv_2015_code"]) == ("dans", "QP062025")
    assert list(rows["qpv_2015_statut"]) == [
        "dans",
        NOT_LOCATED,
        NOT_LOCATED,
        "hors territoire",
        "incertain",
    ]
    assert rows.loc[1, "qpv_2015_remarque"] == "adresse vide ou trop courte"
    assert rows.loc[2, "qpv_2015_remarque"] == "adresse introuvable"
    # A weak match is never trusted for a verdict, even when it falls inside a quartier.
    assert rows.loc[4, "qpv_2015_remarque"].startswith(
        "adresse reconnue avec une faible confiance (score 0,"
    )
    assert rows.loc[4, "qpv_2024_statut"] == "incertain"
    assert calls[0] == (0.0, "Géocodage des adresses : 0 sur 5")
    assert ("Géocodage des adresses : 4 sur 5") in [m for _, m in calls]
    assert calls[-1][0] == 1.0


def test_only_the_address_columns_are_sent(locator, geoplateforme):
    table = address_table().assign(secret=["ne pas envoyer"] * 5)
    check_table(
        table, locator, address_columns=["adresse", "ville"], geocoder_url=geoplateforme.url
    )

    sent = geoplateforme.requests[0].files["data"].decode("utf-8")
    assert "ne pas envoyer" not in sent
    assert sent.splitlines()[0] == "qpv_row,adresse,ville"


def in_quartiers(server, *codes: str) -> pd.DataFrame:
    """Addresses the stand-in places inside the given 2015 quartiers."""
    return pd.DataFrame({"adresse": [server.address_in(code).label for code in codes]})


def test_incomplete_bulk_answers_are_never_dans_or_hors(locator, geoplateforme):
    # Rows in turn: coordinates but no score, result_status "error", no type, no status.
    geoplateforme.set_mode("incomplete_csv")
    table = in_quartiers(geoplateforme, "QP062025", "QP062024", "QP062028", "QP062029")

    rows = check_table(
        table, locator, address_columns=["adresse"], geocoder_url=geoplateforme.url
    ).rows

    for generation in (2024, 2015):
        statuses = list(rows[f"qpv_{generation}_statut"])
        assert statuses == ["incertain", NOT_LOCATED, "incertain", "incertain"]
    remarks = list(rows["qpv_2015_remarque"])
    assert remarks[0].startswith("réponse incomplète du service d'adresses (score : absent")
    assert remarks[1] == "le service d'adresses n'a pas pu traiter cette ligne"
    assert remarks[2].startswith("réponse incomplète du service d'adresses (type de résultat :")
    assert remarks[3].startswith("réponse incomplète du service d'adresses (statut :")
    assert pd.isna(rows.loc[1, "lon"])  # an error row has no point, whatever was sent


def test_an_ambiguous_bulk_answer_is_uncertain(locator, geoplateforme):
    table = in_quartiers(geoplateforme, "QP062025")
    geoplateforme.set_mode("ambiguous", gap=0.02)  # result_score_next 0,02 behind
    close = check_table(table, locator, address_columns=["adresse"], geocoder_url=geoplateforme.url)
    geoplateforme.set_mode("ambiguous", gap=0.3)
    clear = check_table(table, locator, address_columns=["adresse"], geocoder_url=geoplateforme.url)

    assert close.rows.loc[0, "qpv_2015_statut"] == "incertain"
    assert close.rows.loc[0, "qpv_2015_remarque"].startswith(
        "autre adresse presque aussi probable (scores 0,"
    )
    assert clear.rows.loc[0, "qpv_2015_statut"] == "dans"


def test_a_geocoded_row_in_a_neighbours_quartier_names_its_contract(locator, geoplateforme):
    table = in_quartiers(geoplateforme, "QP062043")

    rows = check_table(
        table, locator, address_columns=["adresse"], geocoder_url=geoplateforme.url
    ).rows

    assert (rows.loc[0, "qpv_2015_statut"], rows.loc[0, "qpv_2015_code"]) == ("dans", "QP062043")
    assert (
        rows.loc[0, "qpv_2015_remarque"] == "quartier du contrat de ville de la CA d'Hénin-Carvin"
    )


@pytest.mark.parametrize(
    ("mode", "options", "error"),
    [
        ("error", {"status": 503}, GeocoderUnavailable),
        ("bad_csv", {}, GeocoderParseError),
    ],
)
def test_a_failing_geocoder_raises_and_returns_nothing(
    locator, geoplateforme, mode, options, error
):
    geoplateforme.set_mode(mode, **options)
    with pytest.raises(error):
        check_table(
            address_table(), locator, address_columns=["adresse"], geocoder_url=geoplateforme.url
        )


# ---------------------------------------------------------------------------------------------
# One point, said in French


def test_a_point_is_located_for_2024_then_2015(locator, points):
    verdicts = locate_point(locator, *points["QP062025"])
    assert list(verdicts) == [2024, 2015]
    assert verdicts[2015].status == "in"
    assert verdicts[2015].codes == ("QP062025",)


def test_describe_verdict_names_the_quartier_through_the_given_formatter(locator, points):
    verdict = locate_point(locator, *points["QP062025"], generations=[2015])[2015]

    lines = describe_verdict(verdict, quartier=lambda g, code, name: f"<{g}:{code}>")

    assert lines == [
        "Dans le quartier prioritaire <2015:QP062025>, sur les communes de Lens, "
        "Vendin-le-Vieil et Loison-sous-Lens."
    ]


def test_describe_verdict_outside_gives_nearest_distance_and_bands(locator, points):
    verdict = locate_point(locator, *points["sans_qpv"], generations=[2015])[2015]

    headline, nearest, bands = describe_verdict(verdict, escape=str.upper)

    assert headline == "Hors quartier prioritaire."
    assert nearest.startswith(f"Quartier le plus proche : {verdict.nearest.name} (")
    assert nearest.endswith(f", à {fr_distance(verdict.distance_m)}.")
    assert (
        bands
        == "À moins de 300\u202fm d'un quartier prioritaire : non ; à moins de 500\u202fm : non."
    )


def test_describe_verdict_explains_an_imprecise_address(locator, points):
    verdict = locate_point(locator, *points["QP062025"], result_type="street")[2015]

    lines = describe_verdict(verdict)

    assert verdict.status == "uncertain"
    assert lines[0] == "Incertain : on ne peut pas trancher."
    assert lines[1].startswith("L'adresse n'a été localisée qu'à la rue")


@pytest.mark.parametrize(
    ("metres", "expected"),
    [(0.4, "0\u202fm"), (12.4, "12\u202fm"), (999, "999\u202fm"), (3240, "3,2\u202fkm")],
)
def test_fr_distance(metres, expected):
    assert fr_distance(metres) == expected
