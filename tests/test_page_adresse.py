"""The "Suis-je en QPV ?" page (``/adresse``) as a user sees it, driven by AppTest.

Addresses go to the Géoplateforme stand-in (``QPV_GEOCODER_URL``); coordinates go nowhere. Every bad
input must give a French message and leave the page's answer as it was.
"""

import apptest
import pytest
from apptest import text_of, unescape
from fake_geoplateforme import failures
from streamlit.testing.v1 import AppTest

from ui import lookup

pytest_plugins = ["fake_geoplateforme"]  # the geoplateforme and geoplateforme_addresses fixtures

PAGE = "pages/adresse.py"
TIMEOUT = 90
ADDRESS = "Lens adresse de test QP062025"


def open_page(**params: str) -> AppTest:
    return apptest.open_page(PAGE, timeout=TIMEOUT, **params)


def errors(at: AppTest) -> list[str]:
    return [unescape(e.value) for e in at.error]


def search(at: AppTest, address: str) -> AppTest:
    at.text_input(key="adresse_saisie").input(address)
    next(b for b in at.button if b.label == "Vérifier l'adresse").click()
    at.run()
    assert not at.exception, at.exception
    return at


def enter_coordinates(at: AppTest, lon: str, lat: str) -> AppTest:
    at.text_input(key="adresse_longitude").input(lon)
    at.text_input(key="adresse_latitude").input(lat)
    next(b for b in at.button if b.label == "Situer ce point").click()
    at.run()
    assert not at.exception, at.exception
    return at


def verdict_headers(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Périmètres")]


# ---------------------------------------------------------------------------------------------
# Answers


def test_empty_page_says_what_to_do_and_that_addresses_are_not_kept(geocoder):
    at = open_page()

    assert at.title[0].value == "Suis-je en QPV ?"
    assert at.info[0].value.startswith("Saisissez une adresse, cliquez sur la carte")
    assert "Base Adresse Nationale" in text_of(at)
    assert "Elle n'est ni enregistrée ni conservée par cette application." in text_of(at)
    assert geocoder.count() == 0


def test_q_parameter_looks_the_address_up_and_shows_2024_first(geocoder):
    at = open_page(q=ADDRESS)

    text = text_of(at)
    assert "Adresse trouvée : Lens (adresse de test, QP062025)" in text
    assert verdict_headers(at) == [
        "**Périmètres 2024, en vigueur depuis le 1er janvier 2024**",
        "**Périmètres 2015 (contrat de ville 2015-2023)**",
    ]
    assert (
        ":material/location_on: **Dans le quartier prioritaire "
        "[Grande Résidence](./?gen=2015&qpv=QP062025) (QP062025), sur les communes de Lens, "
        "Vendin\\-le\\-Vieil et Loison\\-sous\\-Lens.**"
    ) in [m.value for m in at.markdown]
    # 2024: the simplified perimeters leave the point within the uncertainty margin.
    assert "Incertain : on ne peut pas trancher." in text
    assert "[Grande Résidence](./?gen=2024&qpv=QN06225M)" in text
    assert "À moins de 300 m d'un quartier prioritaire : oui ; à moins de 500 m : oui." in text
    assert "copie simplifiée (écart jusqu'à environ 120 m)" in text
    assert "elle ne remplace pas l'attestation officielle" in text
    assert "(https://sig.ville.gouv.fr)" in text
    assert geocoder.count("/search") == 1


def test_a_typed_address_is_looked_up_and_its_alternatives_offered(geocoder):
    at = search(open_page(), ADDRESS)

    assert "Adresse trouvée : Lens (adresse de test, QP062025)" in text_of(at)
    choice = at.radio(key="adresse_choix")
    assert choice.value == 0
    assert unescape(choice.options[-1]).endswith("— hors du territoire (CA de Lens - Liévin)")
    # Another suggestion: another answer, without a new search.
    requests = geocoder.count()
    choice.set_value(1).run()
    assert "Adresse trouvée : Lens (adresse de test, QP062024)" in text_of(at)
    assert geocoder.count() == requests


def test_ambiguous_answer_asks_the_user_to_choose_first(geocoder):
    geocoder.set_mode("ambiguous")
    at = search(open_page(), ADDRESS)

    assert "Plusieurs adresses peuvent correspondre : choisissez la bonne ci-dessous." in [
        i.value for i in at.info
    ]
    assert at.radio(key="adresse_choix").value is None
    assert verdict_headers(at) == []

    at.radio(key="adresse_choix").set_value(0).run()
    assert len(verdict_headers(at)) == 2


def test_low_confidence_answer_must_be_confirmed(geocoder):
    geocoder.set_mode("low_score")
    at = search(open_page(), ADDRESS)

    assert "ne correspond peut-être pas à votre saisie" in text_of(at)
    assert at.radio(key="adresse_choix").value is None
    assert verdict_headers(at) == []


def test_street_level_address_is_uncertain_with_its_reason(geocoder):
    geocoder.set_mode("street")
    at = search(open_page(), ADDRESS)

    text = text_of(at)
    assert "Localisée à la rue seulement par la Base Adresse Nationale" in text
    assert text.count("Incertain : on ne peut pas trancher.") == 2
    assert "L'adresse n'a été localisée qu'à la rue" in text
    assert "copie simplifiée" not in text  # the reason is the address, not the perimeters


def test_address_outside_the_territory_is_flagged(geocoder):
    at = search(open_page(), "Calais adresse de test")

    text = text_of(at)
    assert "Cette adresse n'est pas dans une commune de CA de Lens - Liévin" in text
    assert text.count("Hors du territoire couvert.") == 2


def test_coordinates_give_the_verdict_without_geocoding(geocoder, inside_qp062025):
    at = enter_coordinates(open_page(), *inside_qp062025)

    text = text_of(at)
    assert "Coordonnées saisies : latitude 50,44998, longitude 2,83785." in text
    assert "Dans le quartier prioritaire [Grande Résidence](./?gen=2015&qpv=QP062025)" in text
    assert geocoder.count() == 0


# ---------------------------------------------------------------------------------------------
# Bad input: a French message, and the previous answer stays


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "Saisissez une adresse."),
        ("   ", "Saisissez une adresse."),
        ("a", "L'adresse est trop courte (3 caractères au moins)."),
        ("!!!", "L'adresse doit contenir au moins une lettre ou un chiffre."),
        ("rue " * 2500, "L'adresse est trop longue"),
    ],
)
def test_unusable_address_is_refused_before_any_request(geocoder, address, message):
    at = open_page(q=ADDRESS)
    requests = geocoder.count()

    search(at, address)

    assert errors(at) == [message] or errors(at)[0].startswith(message)
    assert geocoder.count() == requests
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

    assert errors(at)[0].startswith("L'adresse est trop longue (10 000 caractères, 200 au plus)")
    assert geocoder.count() == 0
    assert at.info[0].value.startswith("Saisissez une adresse, cliquez sur la carte")


@pytest.mark.parametrize(
    ("mode", "options", "message"),
    failures("rate_limit", "error", "malformed", "bad_shape", "slow"),
)
def test_geocoder_failure_says_so_and_offers_the_map(geocoder, monkeypatch, mode, options, message):
    monkeypatch.setattr(lookup, "SEARCH_TIMEOUT", (1.0, 0.5))  # the slow answer takes 1,5 s
    at = open_page(q=ADDRESS)

    geocoder.set_mode(mode, **options)
    search(at, "adresse de test QP062024")

    (error,) = errors(at)
    assert message in error
    assert "cliquez sur la carte ou saisissez des coordonnées" in error
    assert "Adresse trouvée : Lens (adresse de test, QP062025)" in text_of(at)  # unchanged


def test_no_match_is_said_plainly(geocoder):
    geocoder.set_mode("empty")
    at = search(open_page(), ADDRESS)

    assert unescape(at.warning[0].value).startswith(
        f"Aucune adresse trouvée pour « {ADDRESS} ». Vérifiez l'orthographe"
    )
    assert verdict_headers(at) == []


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
