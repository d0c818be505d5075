"""The "Suis-je en QPV ?" page (``/adresse``) as a user sees it, driven by AppTest.

Addresses, suggestions and reverse look-ups go to the Géoplateforme stand-in
(``QPV_GEOCODER_URL``). The answer comes first: one verdict for the perimeters in force, then
2015, the 300/500 m questions and the details. A new search replaces the answer, a failed one
clears it; bad input (too short, not a number) gives a French message and changes nothing.
"""

import io
import re
import urllib.parse

import apptest
import geopandas as gpd
import pytest
from apptest import text_of, type_into, unescape
from pypdf import PdfReader
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from geo.answersheet import answer_pdf
from support.fake_geoplateforme import failures
from ui import adresse

pytest_plugins = ["geoplateforme_fixtures"]  # the geoplateforme fixtures

PAGE = "pages/adresse.py"
TIMEOUT = 90
ADDRESS = "Lens adresse de test QP062025"
FIELD = "adresse_saisie"


def open_page(**params: str) -> AppTest:
    return apptest.open_page(PAGE, timeout=TIMEOUT, **params)


def errors(at: AppTest) -> list[str]:
    return [unescape(e.value) for e in at.error]


def search(at: AppTest, address: str) -> AppTest:
    """Type the address and press Enter."""
    return type_into(at, FIELD, address, enter=True)


def enter_coordinates(at: AppTest, lon: str, lat: str) -> AppTest:
    at.text_input(key="adresse_longitude").input(lon)
    at.text_input(key="adresse_latitude").input(lat)
    next(b for b in at.button if b.label == "Situer ce point").click()
    at.run()
    assert not at.exception, at.exception
    return at


def headline(at: AppTest) -> str:
    """The large answer for the perimeters in force (empty when there is none)."""
    return "\n".join(unescape(s.value) for s in at.subheader)


def suggestions(at: AppTest) -> list[str]:
    return [unescape(b.label) for b in at.button if (b.key or "").startswith("adresse_suggestion")]


def verdict_headers(at: AppTest) -> list[str]:
    """The headers of the details, one per generation."""
    return [m.value for m in at.markdown if re.fullmatch(r"\*\*Périmètres[^*]*\*\*", m.value)]


def point_of(dataset, code: str) -> tuple[str, str]:
    """A point inside quartier ``code`` as typed by a user (French decimals)."""
    import geopandas as gpd

    geometry = dataset.qpv.set_index("code").geometry[code]
    point = gpd.GeoSeries([geometry.representative_point()], crs=2154).to_crs(4326).iloc[0]
    return f"{point.x:.6f}".replace(".", ","), f"{point.y:.6f}".replace(".", ",")


# ---------------------------------------------------------------------------------------------
# The answer first


def test_empty_page_says_what_to_do_and_what_leaves_the_server(geocoder):
    at = open_page()

    assert at.title[0].value == "Suis-je en QPV ?"
    assert at.info[0].value.startswith("Saisissez une adresse, cliquez sur la carte")
    note = unescape(next(c.value for c in at.caption if c.value.startswith("Ce qui quitte")))
    host = urllib.parse.urlsplit(geocoder.url).netloc
    assert f"service d'adresses de la Géoplateforme (IGN, {host})" in note
    assert "un point cliqué sur la carte ou des coordonnées saisies lui sont envoyés" in note
    assert "Rien n'est enregistré ni conservé par cette application." in note
    # The basemap tiles come from the browser: their servers are named.
    assert "Plan IGN : data.geopf.fr; OpenStreetMap : tile.openstreetmap.org" in note
    assert "Base Adresse Nationale" not in text_of(at)
    assert geocoder.count() == 0


def test_q_parameter_gives_the_2024_verdict_first_then_2015_and_the_details(geocoder):
    at = open_page(q=ADDRESS)

    # 2024: the simplified perimeters leave the point within the uncertainty margin.
    assert headline(at) == (
        "Incertain : le point est dans "
        "[Grande Résidence](./?gen=2024&qpv=QN06225M) (QN06225M), à 48\u202fm de sa limite"
    )
    text = text_of(at)
    assert "Le point est à 48\u202fm de la limite du quartier Grande Résidence (QN06225M)" in text
    assert "Les contours 2024 disponibles ici sont une copie simplifiée" in text
    assert (
        "Périmètres 2015 (contrat de ville 2015-2023) : Oui, dans le quartier prioritaire "
        "[Grande Résidence](./?gen=2015&qpv=QP062025) (QP062025)."
    ) in text
    assert (
        "À moins de 300\u202fm d'un quartier prioritaire (2024) : oui ; à moins de 500\u202fm"
        in text
    )
    assert "Adresse trouvée : Lens (adresse de test, QP062025)" in text
    # The details keep both generations, 2024 first, and the notice.
    assert verdict_headers(at) == [
        "**Périmètres 2024, en vigueur depuis le 1er janvier 2024**",
        "**Périmètres 2015 (contrat de ville 2015-2023)**",
    ]
    assert (
        ":material/location_on: **Dans le quartier prioritaire "
        "[Grande Résidence](./?gen=2015&qpv=QP062025) (QP062025), sur les communes de Lens, "
        "Vendin\\-le\\-Vieil et Loison\\-sous\\-Lens.**"
    ) in [m.value for m in at.markdown]
    assert "elle ne remplace pas l'attestation officielle" in text
    assert geocoder.count("/search") == 1


def test_uncertain_answer_links_to_the_geoportail_centred_on_the_point(geocoder):
    at = open_page(q=ADDRESS)
    target = geocoder.address_in("QP062025")

    link = re.search(r"\[Voir ce point sur le Géoportail\]\(([^)]+)\)", text_of(at))
    assert link, "no Géoportail link"
    url = urllib.parse.urlsplit(link.group(1))
    assert (url.scheme, url.netloc, url.path) == ("https", "www.geoportail.gouv.fr", "/carte")
    query = urllib.parse.parse_qs(url.query)
    assert query["c"] == [f"{target.lon:.6f},{target.lat:.6f}"]
    assert query["l0"] == ["GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2::GEOPORTAIL:OGC:WMTS(1)"]
    assert "[SIG Ville](https://sig.ville.gouv.fr/territoire/QN06225M)" in text_of(at)


def test_a_typed_address_is_looked_up_and_its_alternatives_offered(geocoder):
    at = search(open_page(), ADDRESS)

    assert "Adresse trouvée : Lens (adresse de test, QP062025)" in text_of(at)
    choice = at.radio(key="adresse_choix")
    assert choice.value == 0
    assert unescape(choice.options[-1]).endswith("— hors du territoire (CA de Lens - Liévin)")
    # Another candidate: another answer, without a new search.
    requests = geocoder.count()
    choice.set_value(1).run()
    assert "Adresse trouvée : Lens (adresse de test, QP062024)" in text_of(at)
    assert geocoder.count() == requests


def test_a_new_search_replaces_the_answer(geocoder):
    at = open_page(q=ADDRESS)

    search(at, "Liévin adresse de test QP062028")

    text = text_of(at)
    assert "Adresse trouvée : Liévin (adresse de test, QP062028)" in text
    assert "QP062025" not in headline(at) and "Grande Résidence" not in text


def test_ambiguous_answer_asks_the_user_to_choose_first(geocoder):
    geocoder.set_mode("ambiguous")
    at = search(open_page(), ADDRESS)

    assert "Plusieurs adresses peuvent correspondre : choisissez la bonne ci-dessous." in [
        i.value for i in at.info
    ]
    assert at.radio(key="adresse_choix").value is None
    assert headline(at) == ""

    at.radio(key="adresse_choix").set_value(0).run()
    assert headline(at).startswith(("Oui", "Non", "Incertain"))
    assert len(verdict_headers(at)) == 2


def test_low_confidence_answer_must_be_confirmed(geocoder):
    geocoder.set_mode("low_score")
    at = search(open_page(), ADDRESS)

    assert "ne correspond peut-être pas à votre saisie" in text_of(at)
    assert at.radio(key="adresse_choix").value is None
    assert headline(at) == ""


def test_street_level_address_is_uncertain_and_says_why_and_what_to_do(geocoder):
    geocoder.set_mode("street")
    at = search(open_page(), ADDRESS)

    assert headline(at) == (
        "Incertain : adresse localisée seulement à la rue, au lieu-dit ou à la commune"
    )
    text = text_of(at)
    assert "Localisée à la rue seulement par le service d'adresses de la Géoplateforme" in text
    assert "L'adresse n'a été localisée qu'à la rue : sa position exacte est inconnue." in text
    assert "Précisez le numéro dans la voie, ou placez le point exact sur la carte." in text
    assert "Périmètres 2015 (contrat de ville 2015-2023) : Incertain" in text
    assert "copie simplifiée" not in text  # the reason is the address, not the perimeters


def test_address_outside_the_territory_is_flagged(geocoder):
    at = search(open_page(), "Calais adresse de test")

    assert headline(at) == "Hors du territoire couvert (CA de Lens - Liévin)"
    assert "Cette adresse n'est pas dans une commune de CA de Lens - Liévin" in text_of(at)


def test_a_point_in_a_neighbours_quartier_names_that_contract(geocoder, dataset):
    at = enter_coordinates(open_page(), *point_of(dataset, "QP062043"))

    assert headline(at) == (
        "Oui, dans le quartier prioritaire "
        "[La Plaine Du 7](./?gen=2024&qpv=QN06243M) (QN06243M), du contrat de ville de la "
        "CA d'Hénin-Carvin"
    )
    text = text_of(at)
    assert (
        "Oui, dans le quartier prioritaire [La Plaine Du 7](./?gen=2015&qpv=QP062043) "
        "(QP062043), du contrat de ville de la CA d'Hénin-Carvin."
    ) in text


# ---------------------------------------------------------------------------------------------
# Suggestions while typing


def test_typing_proposes_addresses_of_the_territory_and_a_choice_answers_at_once(geocoder):
    at = open_page()

    type_into(at, FIELD, "Liévin adr")

    proposed = suggestions(at)
    assert proposed == [
        "Liévin (adresse de test, QP062028)",
        "Liévin (adresse de test, QP062029)",
        "Liévin (adresse de test, QP062030)",
    ]
    [request] = [r for r in geocoder.requests if r.endpoint == "/completion"]
    assert request.params["type"] == ["StreetAddress"]
    assert request.params["terr"] == ["62"]  # the territory's département
    assert headline(at) == ""

    next(b for b in at.button if b.key == "adresse_suggestion_1").click().run()

    assert "Adresse trouvée : Liévin (adresse de test, QP062029)" in text_of(at)
    assert headline(at).startswith(("Oui", "Non", "Incertain"))
    assert suggestions(at) == []  # the list is gone: the answer comes right under the field
    assert geocoder.count("/search") == 1
    assert geocoder.count("/completion") == 1


def test_suggestions_wait_for_three_characters(geocoder):
    at = type_into(open_page(), FIELD, "Li")

    assert suggestions(at) == []
    assert geocoder.count() == 0


def test_suggestions_never_propose_another_town(geocoder):
    # Calais is in the same département (62) but not in the territory: filtered out.
    at = type_into(open_page(), FIELD, "Calais adr")

    assert suggestions(at) == []
    assert "Aucune adresse de la CA de Lens - Liévin ne commence par « Calais adr »" in text_of(at)
    assert geocoder.count("/completion") == 1


def test_text_matching_nothing_gets_a_french_answer(geocoder):
    at = type_into(open_page(), FIELD, "zzz qqq")

    assert suggestions(at) == []
    assert "Aucune adresse de la CA de Lens - Liévin ne commence par « zzz qqq »" in text_of(at)

    search(at, "zzz qqq")
    assert unescape(at.warning[0].value).startswith(
        "Aucune adresse trouvée pour « zzz qqq ». Vérifiez l'orthographe"
    )


@pytest.mark.parametrize(
    ("mode", "options"),
    [("error", {"status": 503}), ("rate_limit", {"retry_after": 0}), ("malformed", {})],
)
def test_a_failing_suggestion_request_keeps_the_page_working(geocoder, mode, options):
    geocoder.set_mode(mode, endpoint="/completion", **options)
    at = type_into(open_page(), FIELD, "Liévin adr")

    assert suggestions(at) == []
    assert adresse.SUGGEST_FAILED in [unescape(c.value) for c in at.caption]
    assert errors(at) == []  # a hint, not an error: typing goes on

    search(at, "Liévin adresse de test QP062028")  # Enter still looks the address up
    assert "Adresse trouvée : Liévin (adresse de test, QP062028)" in text_of(at)


# ---------------------------------------------------------------------------------------------
# Map clicks and coordinates: the verdict, and the nearest address when the service answers


def test_coordinates_give_the_verdict_and_the_nearest_address(geocoder, inside_qp062025):
    at = enter_coordinates(open_page(), *inside_qp062025)

    text = text_of(at)
    assert "Coordonnées saisies : latitude 50,44998, longitude 2,83785." in text
    assert "Oui, dans le quartier prioritaire [Grande Résidence](./?gen=2015&qpv=QP062025)" in text
    assert "Adresse la plus proche (approximative) : Lens (adresse de test, QP062025)" in text
    [request] = [r for r in geocoder.requests if r.endpoint == "/reverse"]
    assert request.params["lon"] == ["2.837854"]
    assert geocoder.count("/search") == 0


def test_coordinate_hints_are_a_point_of_the_territory_typed_the_french_way(geocoder, dataset):
    # The examples come from the data (QPV_TERRITORY may select another EPCI), not from Lens.
    at = open_page()
    lon = at.text_input(key="adresse_longitude").placeholder
    lat = at.text_input(key="adresse_latitude").placeholder
    assert re.fullmatch(r"-?\d+,\d{4}", lon) and re.fullmatch(r"-?\d+,\d{4}", lat)
    point = gpd.GeoSeries(
        [Point(float(lon.replace(",", ".")), float(lat.replace(",", ".")))], crs=4326
    ).to_crs(dataset.territory.crs)
    assert dataset.territory.geometry.iloc[0].contains(point.iloc[0])
    at = enter_coordinates(at, lon, lat)
    assert "Coordonnées saisies" in text_of(at)
    assert "n'est pas dans une commune" not in text_of(at)


@pytest.mark.parametrize(("mode", "options"), [("empty", {}), ("error", {"status": 503})])
def test_reverse_answering_nothing_leaves_the_verdict_alone(
    geocoder, inside_qp062025, mode, options
):
    geocoder.set_mode(mode, endpoint="/reverse", **options)
    at = enter_coordinates(open_page(), *inside_qp062025)

    text = text_of(at)
    assert "Oui, dans le quartier prioritaire [Grande Résidence](./?gen=2015&qpv=QP062025)" in text
    assert "Adresse la plus proche" not in text
    assert errors(at) == []


# ---------------------------------------------------------------------------------------------
# The printable answer


def test_the_answer_prints_on_one_a4_page(geocoder, dataset):
    at = open_page(q=ADDRESS)
    result = at.session_state[adresse.K_RESULT]

    reader = PdfReader(io.BytesIO(answer_pdf(dataset, result)))

    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Adresse trouvée : Lens (adresse de test, QP062025), localisée au numéro" in text
    assert "Incertain : le point est dans Grande Résidence (QN06225M), à 48 m de sa limite." in text
    assert "Oui, dans le quartier prioritaire Grande Résidence (QP062025)." in text
    assert "ce n'est pas une attestation" in text
    assert "La référence officielle est le SIG Ville" in text
    assert re.search(r"Vérification faite le \d{1,2}(er)? \w+ 20\d\d à \d{1,2} h \d\d", text)
    assert "périmètres 2024 : ANCT sur data.gouv.fr, 2024 (décret du 28 décembre 2023" in text
    assert "copie simplifiée des contours officiels" in text


# ---------------------------------------------------------------------------------------------
# Bad input: a French message, and the previous answer stays; a failed search clears it


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "Saisissez une adresse."),
        ("   ", "Saisissez une adresse."),
        ("a", "L'adresse est trop courte (3 caractères au moins)."),
        ("!!!", "L'adresse doit contenir au moins une lettre ou un chiffre."),
        ("rue " * 100, "L'adresse est trop longue"),
    ],
)
def test_unusable_address_is_refused_before_any_request(geocoder, address, message):
    at = open_page(q=ADDRESS)
    searches = geocoder.count("/search")

    search(at, address)

    assert errors(at) == [message] or errors(at)[0].startswith(message)
    assert geocoder.count("/search") == searches
    assert "Adresse trouvée : Lens (adresse de test, QP062025)" in text_of(at)  # unchanged


def test_html_in_an_address_is_shown_escaped(geocoder):
    at = search(open_page(), "<script>alert('x')</script> <b>rue</b>")

    (warning,) = at.warning
    # Every Markdown-active character is backslash-escaped: shown as typed, never interpreted.
    assert warning.value.startswith(
        "Aucune adresse trouvée pour « \\<script\\>alert\\('x'\\)\\</script\\> "
        "\\<b\\>rue\\</b\\> »."
    )
    assert "<script>" not in warning.value and "<b>" not in warning.value


def test_url_with_a_huge_address_gives_a_french_message(geocoder):
    at = open_page(q="x" * 10_000)

    assert errors(at)[0].startswith(
        "L'adresse est trop longue (10\u202f000 caractères, 200 au plus)"
    )
    assert geocoder.count() == 0
    assert at.info[0].value.startswith("Saisissez une adresse, cliquez sur la carte")


@pytest.mark.parametrize(
    ("mode", "options", "message"),
    failures("rate_limit", "error", "malformed", "bad_shape", "slow", "oversize", "deep_json"),
)
def test_geocoder_failure_says_so_offers_the_map_and_clears_the_answer(
    geocoder, monkeypatch, mode, options, message
):
    monkeypatch.setattr(adresse, "SEARCH_TIMEOUT", (1.0, 0.5))  # the slow answer takes 1,5 s
    at = open_page(q=ADDRESS)

    geocoder.set_mode(mode, **options)
    search(at, "adresse de test QP062024")

    (error,) = errors(at)
    assert message in error
    assert "cliquez sur la carte ou saisissez des coordonnées" in error
    assert headline(at) == ""  # the old answer is gone: it was not about this address
    assert "Adresse trouvée" not in text_of(at)


def test_no_match_is_said_plainly_and_clears_the_answer(geocoder):
    at = open_page(q=ADDRESS)
    geocoder.set_mode("empty")

    search(at, ADDRESS)

    assert unescape(at.warning[0].value).startswith(
        f"Aucune adresse trouvée pour « {ADDRESS} ». Vérifiez l'orthographe"
    )
    assert headline(at) == ""


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        ("200", "100", "Coordonnées hors de la France métropolitaine : longitude 200.0"),
        ("50,45", "2,83", "Vérifiez que la longitude et la latitude ne sont pas inversées"),
        ("nan", "50,4", "La longitude doit être un nombre fini."),
        ("2,8", "inf", "La latitude doit être un nombre fini."),
        ("abc", "50,4", "La longitude doit être un nombre en degrés décimaux"),
        ("", "50,4", "Saisissez la longitude"),
    ],
)
def test_bad_coordinates_are_refused_and_change_nothing(
    geocoder, inside_qp062025, lon, lat, message
):
    at = enter_coordinates(open_page(), *inside_qp062025)

    enter_coordinates(at, lon, lat)

    assert message in errors(at)[0]
    assert "Coordonnées saisies : latitude 50,44998, longitude 2,83785." in text_of(at)
