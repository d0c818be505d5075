"""The two generations of perimeters, decided in one place (``geo/generations.py``), read from
the real build: their order, the default view, their population's year, whether their contours
are the simplified copy, and a quartier's counterpart."""

import dataclasses
import json

import pytest

from geo import generations
from geo.errors import InputError
from geo.store import BuildReport


def test_the_perimeters_in_force_come_first_and_are_the_default():
    assert generations.ORDER == (2024, 2015)
    assert generations.DEFAULT == 2024
    assert list(generations.LABELS) == list(generations.ORDER)
    assert generations.other(2024) == 2015 and generations.other(2015) == 2024
    assert generations.has_indicators(2024) and not generations.has_indicators(2015)


@pytest.mark.parametrize("value", [2019, "2024a", None])
def test_an_unknown_generation_is_refused_in_french_with_its_value(value):
    with pytest.raises(InputError, match="génération de périmètres inconnue") as raised:
        generations.check(value)
    assert repr(value) in str(raised.value)


def test_the_population_year_comes_from_the_sources(dataset):
    # The census year is read from the 2015 file's column name; the 2024 compilation gives none.
    assert generations.population_year(dataset, 2015) == 2013
    assert generations.population_year(dataset, 2024) is None
    assert generations.year_text(None) == "année non précisée"


def test_the_mirror_s_2024_contours_are_said_simplified_and_the_2015_ones_are_not(dataset):
    assert generations.contours_simplified(dataset, 2024)
    assert not generations.contours_simplified(dataset, 2015)


def test_a_quartier_s_counterpart_is_its_successor_or_its_predecessor(dataset):
    assert generations.counterpart(dataset, "QP062025") == "QN06225M"
    assert generations.counterpart(dataset, "QN06225M") == "QP062025"
    assert generations.counterpart(dataset, "QP999999") is None


def test_the_build_report_is_read_back_into_the_same_dataclass(dataset):
    raw = json.loads(json.dumps(dataset.report.to_json()))  # through JSON text, as on disk

    assert BuildReport.from_json(raw) == dataset.report
    assert dataset.report.generations[2024].tolerance_m == 120.0
    with pytest.raises(ValueError, match="schema version"):
        BuildReport.from_json({**raw, "schema_version": 1})
    del raw["generations"]
    with pytest.raises(ValueError, match="KeyError"):
        BuildReport.from_json(raw)
    assert dataclasses.is_dataclass(dataset.report)
