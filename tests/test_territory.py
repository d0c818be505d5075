"""Territory derivation and commune-name resolution, on tiny hand-made records."""

import pytest

from geo.errors import SchemaError, UnknownTerritoryError
from geo.territory import CommuneNameResolver, departement_of_qpv, load_territory, normalize_name

COMMUNES = [
    {"code": "62291", "nom": "Éleu-dit-Leauwette", "departement": "62", "type": "commune-actuelle"},
    {"code": "62427", "nom": "Hénin-Beaumont", "departement": "62", "type": "commune-actuelle"},
    {"code": "62065", "nom": "Avion", "departement": "62", "type": "commune-actuelle"},
    {"code": "01001", "nom": "Avion", "departement": "01", "type": "commune-actuelle"},
    {"code": "59452", "nom": "Ostricourt", "departement": "59", "type": "commune-actuelle"},
    {"code": "62999", "nom": "Ancienne", "departement": "62", "type": "commune-deleguee"},
]


@pytest.mark.parametrize(
    "raw",
    ["Éleu-dit-Leauwette", "eleu dit  leauwette", "ELEU-DIT-LEAUWETTE", " Eleu-dit Leauwette "],
)
def test_normalize_name_folds_accents_case_hyphens_and_spaces(raw):
    assert normalize_name(raw) == "eleu dit leauwette"


def test_resolver_handles_missing_accent_and_double_space():
    resolver = CommuneNameResolver(COMMUNES)
    pairs = resolver.resolve_list("Henin-Beaumont,  Éleu-dit-Leauwette", departement="62")
    assert pairs == [("62427", "Hénin-Beaumont"), ("62291", "Éleu-dit-Leauwette")]


def test_resolver_prefers_the_qpv_departement_for_homonyms():
    resolver = CommuneNameResolver(COMMUNES)
    assert resolver.resolve("Avion", departement="62") == ("62065", "Avion")


def test_resolver_finds_a_commune_in_another_departement_when_unique():
    resolver = CommuneNameResolver(COMMUNES)
    assert resolver.resolve("Ostricourt", departement="62") == ("59452", "Ostricourt")


def test_resolver_fails_loudly_on_unknown_name():
    resolver = CommuneNameResolver(COMMUNES)
    with pytest.raises(SchemaError, match="Lensville"):
        resolver.resolve_list("Avion, Lensville", departement="62", context="QPV QP062999")


def test_resolver_ignores_delegated_communes():
    with pytest.raises(SchemaError):
        CommuneNameResolver(COMMUNES).resolve("Ancienne", departement="62")


@pytest.mark.parametrize(
    ("code", "dep"),
    [("QP062025", "62"), ("QN06225M", "62"), ("QP971001", "971"), ("QP02A001", "2A")],
)
def test_departement_of_qpv(code, dep):
    assert departement_of_qpv(code) == dep


EPCI = [
    {
        "code": "200000001",
        "nom": "CA Test",
        "membres": [
            {"code": "62065", "nom": "Avion", "siren": "216200659", "populationMunicipale": 17571},
            {"code": "62032", "nom": "Angres", "siren": "216200329", "populationMunicipale": 4719},
        ],
    }
]


def test_territory_members_come_from_the_epci_records():
    t = load_territory("200000001", EPCI, settings={"200000001": {"neighbouring": {"QPX": "r"}}})
    assert t.name == "CA Test"
    assert list(t.communes["code"]) == ["62032", "62065"]
    assert t.commune_codes == {"62032", "62065"}
    assert t.neighbouring == {"QPX": "r"}


@pytest.mark.parametrize("siren", ["999999999", "12", "", "abcdefghi"])
def test_unknown_or_malformed_territory_is_refused(siren):
    with pytest.raises(UnknownTerritoryError):
        load_territory(siren, EPCI, settings={})
