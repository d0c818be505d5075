"""The map page (``/``) as a user sees it, driven by AppTest on the processed CALL data.

The URL parsing behind shared links (``ui.state``) is tested first, on a tiny catalogue.
"""

import json

import apptest
import geopandas as gpd
import pandas as pd
import pytest
from apptest import unescape
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from geo import style
from geo.store import BuildReport, Dataset, GenerationReport
from geo.territory import normalize_name
from ui import leaflet, mapview
from ui.state import Catalogue, ViewState, parse_view, to_params

TIMEOUT = 60

CATALOGUE = Catalogue(
    qpv_generation={"QP062025": 2015, "QN06225M": 2024},
    commune_names={"62498": "Lens", "62510": "Liévin"},
    territory_name="CA de Lens - Liévin",
    counterpart={"QP062025": "QN06225M", "QN06225M": "QP062025"},
)


# ---------------------------------------------------------------------------------------------
# ui.state: query parameters <-> view


def test_no_parameter_is_the_default_view():
    assert parse_view({}, CATALOGUE) == (ViewState(), [])


def test_a_shared_link_is_read_back():
    params = {"gen": "2015", "commune": ["62498,62510", "62498"], "qpv": "qp062025",
              "voisins": "1", "recherche": " cité ", "pop": "1000-5000", "part": "1"}  # fmt: skip
    state, messages = parse_view(params, CATALOGUE)
    assert messages == []
    assert state == ViewState(
        generation=2015,
        communes=("62498", "62510"),
        qpv="QP062025",
        include_neighbouring=True,
        query="cité",
        population=(1000, 5000),
        choropleth=True,
    )


def test_to_params_round_trips_and_leaves_defaults_out():
    state = ViewState(generation=2024, communes=("62498",), qpv="QN06225M", population=(None, 3000))
    params = to_params(state)
    # The perimeters in force are the default: left out of the URL; 2015 is said.
    assert params == {"commune": "62498", "qpv": "QN06225M", "pop": "-3000"}
    assert parse_view(params, CATALOGUE) == (state, [])
    assert to_params(ViewState()) == {}
    assert to_params(ViewState(generation=2015)) == {"gen": "2015"}


def test_a_quartier_code_brings_its_generation():
    state, messages = parse_view({"qpv": "QN06225M"}, CATALOGUE)
    assert (state.generation, state.qpv, messages) == (2024, "QN06225M", [])

    state, messages = parse_view({"gen": "2015", "qpv": "QN06225M"}, CATALOGUE)
    assert (state.generation, state.qpv) == (2024, "QN06225M")
    assert messages == [
        "Le quartier QN06225M fait partie des périmètres 2024 : la carte montre les "
        "périmètres 2024."
    ]


def test_unknown_codes_are_dropped_with_a_french_message_and_the_rest_is_kept():
    params = {"gen": "2019", "qpv": "QP999999", "commune": "62498,00000", "pop": "beaucoup"}
    state, messages = parse_view(params, CATALOGUE)
    assert state == ViewState(communes=("62498",))
    assert len(messages) == 4
    assert messages[0].startswith("Génération de périmètres inconnue : « 2019 »")
    assert messages[1].startswith("Quartier inconnu : « QP999999 » n'est pas le code")
    assert "quartier prioritaire du territoire (CA de Lens \\- Liévin)." in messages[1]
    assert messages[2].startswith("Commune inconnue : « 00000 »")
    assert "« beaucoup »" in messages[3]


def test_the_catalogue_is_kept_per_build_and_lists_each_generations_quartiers_by_name(dataset):
    catalogue = Catalogue.from_dataset(dataset)
    assert Catalogue.from_dataset(dataset) is catalogue  # not rebuilt on the next rerun
    assert catalogue == Catalogue.build(dataset)
    for generation in (2015, 2024):
        codes = catalogue.quartiers(generation)
        names = [normalize_name(catalogue.qpv_names[code]) for code in codes]
        assert names == sorted(names) and len(codes) == len(set(codes))
        assert set(codes) == {c for c, g in catalogue.qpv_generation.items() if g == generation}


def test_a_population_too_large_for_any_number_is_refused_in_french():
    state, messages = parse_view({"pop": "0-1" + "0" * 311}, CATALOGUE)

    assert state.population == (None, None)
    assert messages[0].startswith("Tranche de population illisible : « 0\\-1000")


def test_thousands_of_unknown_codes_make_one_message_and_little_work():
    communes = ",".join(f"x{i}" for i in range(25_000))

    state, messages = parse_view({"commune": communes, "qpv": "x"}, CATALOGUE)

    assert state.communes == ()
    assert messages == [
        "Quartier inconnu : « X » n'est pas le code d'un quartier prioritaire du territoire "
        "(CA de Lens \\- Liévin). Choisissez un quartier sur la carte ou dans la liste.",
        "Le lien donne plus de 50 codes pour « commune » : seuls les 50 premiers sont lus.",
        "Communes inconnues : « X0 », « X1 », « X2 », « X3 », « X4 » et 45 autres ne sont pas "
        "des codes Insee de communes du territoire (CA de Lens \\- Liévin) ; ces filtres sont "
        "ignorés.",
    ]


def test_the_same_cap_holds_for_a_repeated_parameter():
    values = ["62510"] + [f"x{i}" for i in range(25_000)] + ["62498"]

    state, messages = parse_view({"commune": values}, CATALOGUE)

    assert state.communes == ("62510",)  # 62498 comes after the first 50 codes
    assert messages[0].startswith("Le lien donne plus de 50 codes pour « commune »")
    assert messages[1].startswith("Communes inconnues : « X0 »")
    assert len(messages) == 2


@pytest.mark.parametrize(
    "typed",
    ["\u200bQP062025", "qp062025", "QP\u2060062025\u200e", "ＱＰ０６２０２５", " QP062025\t"],
)
def test_a_code_is_found_whatever_invisible_or_wide_characters_it_carries(typed):
    params = {"qpv": typed, "commune": "\u200b62498,62510\ufeff"}

    state, messages = parse_view(params, CATALOGUE)

    assert (state.qpv, state.communes, messages) == ("QP062025", ("62498", "62510"), [])


def test_a_reversed_population_range_is_refused():
    state, messages = parse_view({"pop": "5000-1000"}, CATALOGUE)
    assert state.population == (None, None)
    assert "illisible" in messages[0]


def test_a_hostile_value_is_quoted_inert_and_short():
    state, messages = parse_view({"qpv": "[clic](javascript:alert(1))" + "x" * 80}, CATALOGUE)
    assert state.qpv is None
    assert "\\[CLIC\\]\\(JAVASCRIPT\\:ALERT\\(1\\)\\)" in messages[0]
    assert "X…" in messages[0]
    assert "X" * 20 not in messages[0]


# ---------------------------------------------------------------------------------------------
# ui.mapview on a tiny territory whose names try to inject HTML

HOSTILE = '<img src=x onerror="alert(1)"></script>'


def tiny_dataset() -> Dataset:
    """One commune, one contract quartier named ``HOSTILE``, one neighbouring quartier."""
    lambert = "EPSG:2154"
    squares = [box(690000, 7040000, 690500, 7040500), box(691000, 7040000, 691400, 7040400)]
    qpv = gpd.GeoDataFrame(
        {
            "code": ["QP000001", "QP000002"],
            "name": [HOSTILE, "Voisin"],
            "generation": [2015, 2015],
            "status": ["contrat", "voisin"],
            "shared": [False, True],
            "commune_codes": ["00001", "00001,99999"],
            "commune_names": [HOSTILE, "Aville, Dehors"],
            "population": pd.array([1234, 567], "Int64"),
            "population_year": pd.array([2013, 2013], "Int64"),
        },
        geometry=squares,
        crs=lambert,
    )
    display = gpd.GeoDataFrame(qpv[["code", "generation"]], geometry=squares, crs=lambert)
    commune = box(689000, 7039000, 692000, 7041000)
    communes = gpd.GeoDataFrame(
        {"code": ["00001"], "name": [HOSTILE], "n_qpv_2015": [1], "share_qpv_2015": [12.3],
         "pop_qpv_2015_estimated": [False], "pmun_2023": [10000]},
        geometry=[commune],
        crs=lambert,
    )  # fmt: skip
    territory = gpd.GeoDataFrame({"siren": ["000000000"], "name": [HOSTILE]}, geometry=[commune])
    return Dataset(
        qpv=qpv,
        qpv_display=display.to_crs(4326),
        communes=communes.to_crs(4326),
        territory=territory.set_crs(lambert),
        correspondence=pd.DataFrame(),
        flags=pd.DataFrame(),
        report=BuildReport(
            generations={2015: GenerationReport("qpv2015", False, 5.0, population_year=2013)}
        ),
        manifest={"territory": "000000000", "inputs": {"test": "tiny"}},
    )


def map_payload(codes: list[str]) -> tuple[str, dict]:
    """What the map component receives for ``codes`` of the tiny territory: JSON text, parsed."""
    spec = mapview.territory_map(tiny_dataset(), generation=2015, codes=codes)
    text = json.dumps(leaflet.payload(spec))
    return text, json.loads(text)


def test_map_texts_are_escaped_before_reaching_the_html():
    text, data = map_payload(["QP000001", "QP000002"])

    assert "<img" not in text
    assert "</script>" not in text
    layers = {layer["id"]: layer for layer in data["layers"]}
    # The tooltip, once the JSON is read by the browser, shows the name as text.
    tooltips = [f["properties"]["tooltip"] for f in json.loads(layers["quartiers"]["geojson"])
                ["features"]]  # fmt: skip
    assert tooltips[0].startswith("<strong>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;")
    assert "&lt;img src=x" in mapview.legend_html(HOSTILE, [style.CONTRACT, style.TERRITORY])
    assert layers["territory"]["name"].startswith("Limite du territoire (&lt;img src=x")
    # The communes' names written on the map are HTML too.
    assert data["labels"]["items"][0][1].startswith("&lt;img src=x onerror=&quot;alert(1)")


def test_map_styles_quartiers_by_status_and_lists_only_what_is_shown():
    _, data = map_payload(["QP000001"])

    quartiers = next(layer for layer in data["layers"] if layer["id"] == "quartiers")
    assert quartiers["only"] == ["QP000001"]  # the browser draws this one only
    styles = {f["id"]: f["properties"]["style"]["className"]
              for f in json.loads(quartiers["geojson"])["features"]}  # fmt: skip
    assert styles["QP000001"] == "qpv-quartier qpv-quartier-QP000001"
    legend = data["legends"][0]["html"]
    assert style.CONTRACT.label in legend
    assert style.NEIGHBOURING.label not in legend  # not shown, so not in the legend


@pytest.mark.parametrize(
    ("share", "label"),
    [(None, None), (0.0, None), (4.6, "moins de 15 %"), (15.0, "de 15 à 25 %"),
     (29.6, "de 25 à 35 %"), (52.1, "35 % et plus")],
)  # fmt: skip
def test_choropleth_classes(share, label):
    found = mapview.share_class(share)
    assert (found.label if found else None) == label


# ---------------------------------------------------------------------------------------------
# The page


def open_page(*, drawn: bool = True, **params: str) -> AppTest:
    return apptest.open_page(timeout=TIMEOUT, drawn=drawn, **params)


def table(at: AppTest):
    """The selection's table, opened as a user opens it (one click away from the map)."""
    at.session_state["carte_tableau"] = True
    at.run()
    return at.dataframe[0].value


def metrics(at: AppTest) -> dict[str, str]:
    """The headline figures: label -> value as shown."""
    return {label: value for label, (value, _) in apptest.figures(at).items()}


def indicators(at: AppTest) -> dict[str, str]:
    """The quartier panel's indicator table, Markdown escapes removed."""
    rows = at.table[0].value
    return {
        unescape(k): unescape(v) for k, v in zip(rows["Indicateur"], rows["Valeur"], strict=True)
    }


def text_of(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "subheader", "info") for e in at.get(kind)]
    return "\n".join(parts)


def test_default_view_is_the_perimeters_in_force():
    at = open_page()

    assert at.radio(key="carte_gen").value == 2024
    assert metrics(at)["Quartiers prioritaires"] == "21"
    assert metrics(at)["Habitants des quartiers"] == "60\u202f441"
    assert "Périmètres 2024, en vigueur depuis le 1er janvier 2024" in text_of(at)
    assert at.query_params == {}


def test_the_first_screen_is_the_headline_and_the_map_then_the_rest_comes_around_them():
    at = open_page(drawn=False, gen="2015", commune="62498", pk_campaign="affiche")

    # What the link asks for, already: the figures and the map of Lens's five quartiers.
    assert at.title[0].value.startswith("Quartiers prioritaires")
    assert metrics(at)["Quartiers prioritaires"] == "5"
    first = json.loads(apptest.component(at, mapview.MAP_KEY).proto.json)["map"]
    quartiers = next(layer for layer in first["layers"] if layer["id"] == "quartiers")
    assert first["reportDrawn"] and len(quartiers["only"]) == 5
    # Nothing the map would wait for: no filter, no panel, no table; the link left as it is.
    assert not at.sidebar.get("multiselect") and not at.selectbox and not at.expander
    assert at.query_params == {"gen": "2015", "commune": "62498", "pk_campaign": "affiche"}

    apptest.draw_maps(at)  # what the browser says once the map is drawn

    assert at.multiselect(key="carte_communes").value == ["62498"]
    assert at.radio(key="carte_gen").value == 2015
    assert at.subheader[0].value == "Lens"  # the commune's panel
    assert metrics(at)["Quartiers prioritaires"] == "5"
    assert not json.loads(apptest.component(at, mapview.MAP_KEY).proto.json)["map"]["reportDrawn"]
    assert at.query_params == {"gen": "2015", "commune": "62498"}


def test_the_figures_the_call_publishes_are_one_click_away():
    at = open_page()

    at.radio(key="carte_gen").set_value(2015).run()

    assert metrics(at)["Quartiers prioritaires"] == "21"
    assert metrics(at)["Communes concernées"] == "19 sur 36"
    assert metrics(at)["Habitants des quartiers"] == "56\u202f398"
    assert "Population des quartiers en 2013" in text_of(at)
    assert at.query_params == {"gen": "2015"}


def test_the_2015_view_announces_the_21_quartiers_in_19_communes_of_the_call():
    at = open_page(gen="2015")  # one click away: the figures the CALL publishes

    assert metrics(at) == {
        "Quartiers prioritaires": "21",
        "Communes concernées": "19 sur 36",
        "Habitants des quartiers": "56\u202f398",
        "Part de la population du territoire": "23,3\u202f%",
    }
    text = text_of(at)
    assert "Périmètres 2015 (contrat de ville 2015-2023)" in text
    assert "Population des quartiers en 2013" in text
    assert (
        "population municipale 2023 du territoire (36 communes, 242\u202f013 habitants, Insee, "
        "populations légales)" in text
    )
    assert not at.warning
    assert at.query_params == {"gen": "2015"}


def test_commune_filter_changes_the_figures_and_the_url():
    at = open_page(gen="2015")

    at.multiselect(key="carte_communes").set_value(["62498"]).run()

    assert metrics(at)["Quartiers prioritaires"] == "5"
    assert metrics(at)["Communes concernées"] == "1 sur 36"
    assert metrics(at)["Habitants des quartiers"] == "14\u202f831"
    assert at.query_params == {"gen": "2015", "commune": "62498"}
    # One commune chosen: its panel opens, with the estimated population in QPV.
    assert at.subheader[0].value == "Lens"
    assert "environ 9\u202f748 habitants en 2013 (Insee, RP 2013) — estimation" in text_of(at)
    assert len(table(at)) == 5


def test_commune_picker_marks_the_communes_holding_quartiers():
    at = open_page()
    labels = at.multiselect(key="carte_communes").options
    assert "Lens (5 quartiers)" in labels
    assert "Angres (1 quartier)" in labels
    assert "Vimy" in labels


def test_quartier_link_opens_its_fact_panel():
    at = open_page(qpv="QP062025")

    assert at.subheader[0].value == "Grande Résidence"
    text = text_of(at)
    assert "**Population** : 4\u202f803 habitants en 2013 (source : Insee, population" in text
    assert "Lens (62498), Vendin\\-le\\-Vieil (62842), Loison\\-sous\\-Lens (62523)" in text
    assert "Devenu **QN06225M** (Grande Résidence) en 2024." in text
    assert at.selectbox(key="carte_qpv").value == "QP062025"
    assert at.query_params == {"gen": "2015", "qpv": "QP062025"}  # a 2015 code, its perimeters


def test_unknown_quartier_shows_a_french_message_and_the_full_map():
    at = open_page(qpv="QP999999")

    assert len(at.warning) == 1
    assert at.warning[0].value.startswith("Quartier inconnu : « QP999999 »")
    assert metrics(at)["Quartiers prioritaires"] == "21"
    assert at.query_params == {}  # the bad parameter is dropped from the URL


def test_2024_perimeters_are_labelled_and_their_simplification_said():
    at = open_page(gen="2024")

    text = text_of(at)
    assert "Périmètres 2024, en vigueur depuis le 1er janvier 2024" in text
    assert "Population des quartiers (année non précisée par la source)" in text
    assert "copie simplifiée" in text
    assert metrics(at)["Habitants des quartiers"] == "60\u202f441"


def test_switching_generation_keeps_the_quartier_open_through_its_successor():
    at = open_page(qpv="QP062025")

    at.radio(key="carte_gen").set_value(2024).run()

    assert at.subheader[0].value == "Grande Résidence"
    assert at.query_params == {"qpv": "QN06225M"}  # the perimeters in force: no gen
    assert "Prolonge **QP062025** (Grande Résidence) de 2015." in text_of(at)


def test_flagged_indicators_are_shown_with_their_flag():
    at = open_page(qpv="QN06227M")

    values = indicators(at)
    assert values["Logements sociaux rapportés au nombre de ménages"] == (
        "112,8\u202f% ⚠️ plus de 100\u202f% : la source compte 896 logements sociaux pour "
        "794,2 ménages"
    )
    assert values["Taux d'emploi"] == "34,3\u202f%"


def test_missing_indicator_is_a_dash_with_its_flag_never_zero():
    at = open_page(qpv="QN06202M")
    assert indicators(at)["Taux de pauvreté"] == ("— ⚠️ valeur manquante")


def test_neighbouring_quartier_is_optional_and_explained():
    at = open_page(gen="2015")
    assert "QP062043" not in list(table(at)["Code"])

    at.checkbox(key="carte_voisins").check().run()

    assert "QP062043" in list(table(at)["Code"])
    assert metrics(at)["Quartiers prioritaires"] == "21"  # shown, not counted
    assert "1 quartier voisin affiché, hors contrat de ville : non compté." in text_of(at)

    at.selectbox(key="carte_qpv").set_value("QP062043").run()
    text = text_of(at)
    assert "Quartier voisin, hors contrat de ville de ce territoire." in text
    assert "contrat de ville de la CA d'Hénin\\-Carvin" in text


def test_search_and_population_range_filter_the_table():
    at = open_page(gen="2015", recherche="cité", pop="2000-3000")

    shown = table(at)
    assert list(shown["Code"]) == ["QP062020", "QP062023", "QP062024", "QP062035"]
    assert shown["Population"].between(2000, 3000).all()
    assert metrics(at)["Quartiers prioritaires"] == "4"


def test_population_range_widget_filters_and_is_written_to_the_url():
    at = open_page()

    at.select_slider(key="carte_pop").set_range(2000, 3000).run()

    assert metrics(at)["Quartiers prioritaires"] == "6"
    assert at.query_params == {"pop": "2000-3000"}
    assert at.select_slider(key="carte_pop").options[-1] == "7\u202f500"  # French format


def test_no_match_says_so_and_keeps_the_map():
    at = open_page(recherche="introuvable")
    assert metrics(at)["Quartiers prioritaires"] == "0"
    assert "Aucun quartier ne correspond à ces filtres" in text_of(at)


@pytest.mark.parametrize("params", [{}, {"part": "1"}])
def test_table_has_french_headers_and_a_csv_download(params):
    at = open_page(**params)
    shown = table(at)
    assert list(shown.columns[:5]) == ["Code", "Quartier", "Communes", "Statut", "Population"]
    assert len(shown) == 21
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Télécharger ce tableau (CSV)" in labels


def download_labels(at: AppTest) -> dict[str, str]:
    """Label -> help text of the download buttons on the page."""
    return {b.proto.label: b.proto.help for b in at.get("download_button")}


def test_before_anything_is_picked_the_panel_shows_the_territory_and_its_dossier():
    at = open_page()

    assert at.subheader[0].value == "CA de Lens \\- Liévin"
    text = unescape(text_of(at))
    assert "19 communes comptent un quartier du contrat de ville" in text
    assert "Lens (5)" in text and "Liévin (3)" in text
    downloads = download_labels(at)
    assert "22 pages" in downloads["Dossier de séance (PDF)"]  # the overview + 21 quartiers
    assert "Carte (image PNG)" in downloads

    at.selectbox(key="carte_choix_commune").set_value("62510").run()
    assert at.subheader[0].value == "Liévin"
    assert "Fiche de la commune (PDF)" in download_labels(at)


def test_the_dossier_follows_the_selection():
    at = open_page(commune="62498")  # Lens: its panel opens, with its own sheet
    assert "Fiche de la commune (PDF)" in download_labels(at)

    at = open_page(gen="2015", recherche="cité", pop="2000-3000")
    assert "5 pages" in download_labels(at)["Dossier de séance (PDF)"]


def test_a_quartier_panel_offers_its_sheet_and_its_map():
    at = open_page(qpv="QN06225M")

    downloads = download_labels(at)
    assert "Fiche du quartier (PDF)" in downloads
    assert "Carte (image PNG)" in downloads
    # The 2024 perimeters of the mirror are a simplified copy: its area says so.
    assert (
        "Superficie : 84\u202fha (2024, ANCT, périmètres 2024 (calculé sur des contours "
        "simplifiés)) · Densité : 5\u202f550\u202fhab./km² (année non précisée"
        in apptest.text_of(at)
    )


def test_the_perimeters_in_force_come_first():
    at = open_page()
    assert at.radio(key="carte_gen").options == [
        "Périmètres 2024, en vigueur depuis le 1er janvier 2024",
        "Périmètres 2015 (contrat de ville 2015-2023)",
    ]
