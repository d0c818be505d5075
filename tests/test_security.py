"""Hostile input: every parser taking user input either accepts it or refuses it in French.

Property tests (hypothesis) for each entry point a user controls: the address typed or passed
in ``?q=``, coordinates, an uploaded table, the map page's query parameters, and the exports of
the user's own rows (formula injection). Then the logs: a lookup on ``/adresse`` and a file check
on ``/fichier``, driven by AppTest against the Géoplateforme stand-in with every logger at DEBUG,
must not leave the address (typed, suggested, or a point sent for the nearest address) or any cell
of the file in any log record.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re

import apptest
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from geo.coordinates import parse_degrees
from geo.errors import InputError
from geo.export import FORMULA_PREFIXES, to_csv_fr, to_excel
from geo.geocoder import MAX_LENGTH, MIN_LENGTH, normalize_address
from geo.locate import build_locator
from geo.tabular import read_table
from geo.verdict import STATUSES, Verdict
from ui.state import MAX_QUERY_LENGTH, Catalogue, ViewState, parse_view

pytest_plugins = ["geoplateforme_fixtures"]  # the geoplateforme fixtures

APP = "../app.py"
TIMEOUT = 120
FORMULAS = ("=1+1", "+33 6 00 00 00 00", "-2+3", "@SUM(A1:A9)", '=HYPERLINK("http://x","y")')
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIXTURE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

any_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)


# ---------------------------------------------------------------------------------------------
# The address


@given(st.one_of(any_text, st.none(), st.integers(), st.floats(), st.binary(), st.lists(any_text)))
@example("\u202egare de Lens\u202c")  # bidirectional override: would reverse the text shown
@example("=cmd|' /C calc'!A0 rue de Lens")
@example("<script>alert(1)</script> 12 rue de la Gare")
def test_an_address_is_clean_text_or_refused_in_french(value):
    try:
        text = normalize_address(value)
    except InputError as exc:
        assert str(exc) and str(exc)[0].isupper()
        return
    assert MIN_LENGTH <= len(text) <= MAX_LENGTH
    assert text[0].isalnum()
    # No control, format (bidi) or odd space character survives: only plain spaces.
    assert all(ch == " " or ch.isprintable() for ch in text)
    assert not re.search(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069]", text)
    assert normalize_address(text) == text  # a second pass changes nothing


# ---------------------------------------------------------------------------------------------
# Coordinates


@pytest.fixture(scope="module")
def locator(dataset):
    return build_locator(dataset)


coordinate = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-6, max_value=11),
    st.floats(min_value=40, max_value=52),
    st.integers(min_value=-(10**400), max_value=10**400),  # beyond 1e308: no float at all
    any_text,
    st.sampled_from(["2,83", " 50.43 ", "1e999", "-inf", "nan", "0x1p-2", "2.83°", "", "١٢"]),
    st.none(),
    st.booleans(),
    st.binary(max_size=20),
)


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURE)
@given(lon=coordinate, lat=coordinate, generation=st.sampled_from([2015, 2024]))
def test_any_coordinates_give_a_verdict_or_a_french_input_error(locator, lon, lat, generation):
    try:
        verdict = locator.locate(lon, lat, generation=generation)
    except InputError as exc:
        assert str(exc).startswith(("Coordonnées", "Point", "Génération"))
        return
    assert isinstance(verdict, Verdict)
    assert verdict.status in STATUSES
    assert math.isfinite(verdict.distance_m) and verdict.distance_m >= 0


def test_an_integer_too_large_for_a_float_is_an_input_error(locator):
    with pytest.raises(InputError):
        locator.locate(10**400, 50.43, generation=2024)


@given(any_text)
@example("2,8319")
@example("1e999")
@example("50 432,1")
@example("\u00a050,43")
def test_typed_coordinate_is_a_finite_number_or_a_french_message(text):
    try:
        value = parse_degrees(text, "longitude")
    except InputError as exc:
        assert "longitude" in str(exc)
        return
    assert math.isfinite(value)


# ---------------------------------------------------------------------------------------------
# Uploaded tables

cell = st.one_of(
    st.text(
        alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40
    ),
    st.sampled_from(FORMULAS),
    st.sampled_from(
        ["", " ", "NA", "null", "#N/A", "1,5", "007", '"', "'", ";", ",", "\n", "\r\n"]
    ),
)
huge_cell = st.builds(lambda ch, n: ch * n, st.sampled_from('aé;"\n=€'), st.integers(1, 300_000))


@st.composite
def tables(draw):
    """A header of plain names and rows of hostile cells (one may be huge)."""
    ncols = draw(st.integers(2, 5))
    header = [f"colonne_{i}" for i in range(ncols)]
    rows = draw(st.lists(st.lists(cell, min_size=ncols, max_size=ncols), min_size=1, max_size=8))
    if draw(st.booleans()):
        rows[0][draw(st.integers(0, ncols - 1))] = draw(huge_cell)
    return header, rows


@SLOW
@given(
    table=tables(),
    sep=st.sampled_from([";", ",", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
)
def test_an_uploaded_csv_is_read_verbatim_or_refused_in_french(table, sep, encoding, quoting):
    header, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, quoting=quoting, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    try:
        data = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        assume(False)  # a character Windows-1252 cannot hold: not a file a user can have
    if encoding == "cp1252":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            assume(data.isascii())  # otherwise the same bytes are also valid UTF-8 text
        # These eight are €, Š, š, Ž, ž, Œ, œ, Ÿ in ISO-8859-15, which is read too: the same
        # bytes are then two texts (which one is read: tests/test_tabular.py).
        assume(not set("¤¦¨´¸¼½¾") & set(buffer.getvalue()))
    try:
        df = read_table(data, "export.csv")
    except InputError as exc:
        assert str(exc)[0].isupper() and "Traceback" not in str(exc)
        return
    assert list(df.columns) == header
    assert df.to_numpy().tolist() == rows  # formulas and all: nothing evaluated or altered


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        # UTF-16 is read (tests/test_tabular.py); a truncated one is refused.
        ("adresse;ville\n1 rue X;Lens\n".encode("utf-16")[:-1], "UTF-16 mais il est tronqué"),
        (b"=cmd|' /C calc'!A0", "aucune ligne de données"),
        (b"\xff\xfe\x00\x00" * 10, "pas un fichier texte CSV"),
        (b'"adresse;ville\n1 rue X;Lens\n', "guillemets"),
    ],
)
def test_unusable_uploads_are_refused_with_a_french_message(data, fragment):
    with pytest.raises(InputError, match=fragment):
        read_table(data, "adresses.csv")


# ---------------------------------------------------------------------------------------------
# Query parameters of the map page

CATALOGUE = Catalogue(
    qpv_generation={"QP062025": 2015, "QN06225M": 2024},
    commune_names={"62498": "Lens", "62510": "Liévin"},
    territory_name="CA de Lens - Liévin",
    counterpart={"QP062025": "QN06225M", "QN06225M": "QP062025"},
)
PARAM_KEYS = ("gen", "commune", "qpv", "voisins", "recherche", "pop", "part", "q", "autre")
param_value = st.one_of(
    any_text,
    st.sampled_from(["2015", "2024", "QP062025", "qn06225m", "62498,62510", "1000-", "1", "oui"]),
    st.just("<img src=x onerror=alert(1)>"),
    st.just("[lien](javascript:alert(1))"),
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(PARAM_KEYS),
        st.one_of(param_value, st.lists(param_value, max_size=3)),
        max_size=len(PARAM_KEYS),
    )
)
def test_any_query_parameters_give_a_valid_view(params):
    view, messages = parse_view(params, CATALOGUE)

    assert isinstance(view, ViewState)
    assert view.generation in (2015, 2024)
    assert set(view.communes) <= set(CATALOGUE.commune_names)
    assert len(set(view.communes)) == len(view.communes)
    assert view.qpv is None or CATALOGUE.qpv_generation[view.qpv] == view.generation
    assert len(view.query) <= MAX_QUERY_LENGTH
    low, high = view.population
    assert low is None or high is None or low <= high
    for message in messages:
        # The user's value is quoted inert: no raw HTML tag or Markdown link can reach the page.
        assert not re.search(r"(?<!\\)<[a-zA-Z/]", message)
        assert not re.search(r"(?<!\\)\]\(", message)
        assert all(ch.isprintable() for ch in message)


# ---------------------------------------------------------------------------------------------
# Exports of the user's rows

export_text = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=30)
export_cell = st.one_of(
    export_text,
    st.sampled_from(FORMULAS),
    st.builds(lambda p, t: p + t, st.sampled_from(FORMULA_PREFIXES), export_text),
)


def csv_cells(data: bytes) -> list[list[str]]:
    """Cells as a spreadsheet reads a CSV (a row ends at any CR or LF outside quotes)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


csv_cell = st.one_of(
    any_text,
    st.sampled_from(FORMULAS),
    st.builds(lambda p, t: p + t, st.sampled_from(FORMULA_PREFIXES), any_text),
    st.builds(lambda t, f: f"{t}\r{f}", any_text, st.sampled_from(FORMULAS)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(csv_cell, min_size=1, max_size=10))
def test_csv_export_never_starts_a_cell_with_a_formula(cells):
    table = pd.DataFrame({"adresse": cells, "n": range(len(cells))})

    read_back = csv_cells(to_csv_fr(table))

    assert len(read_back) == len(cells) + 1
    for original, (shown, _) in zip(cells, read_back[1:], strict=True):
        assert not shown.startswith(("=", "+", "-", "@"))
        assert shown == ("'" + original if original.startswith(FORMULA_PREFIXES) else original)


def test_csv_export_a_carriage_return_cannot_start_a_formula_row():
    table = pd.DataFrame({"adresse": ["12 rue X\r=2+5*cmd|' /C calc'!A0"], "n": [1]})

    rows = csv_cells(to_csv_fr(table))

    assert len(rows) == 2
    assert not any(c.startswith(("=", "+", "-", "@")) for row in rows for c in row)


@settings(max_examples=40, deadline=None)
@given(st.lists(export_cell, min_size=1, max_size=10))
def test_excel_export_holds_text_never_formulas(cells):
    table = pd.DataFrame({"adresse": cells, "n": range(len(cells))})

    sheet = openpyxl.load_workbook(io.BytesIO(to_excel(table))).active

    def lines(text: str | None) -> str | None:
        # XML stores a CR as a line feed: that is the workbook format, not the export.
        return text.replace("\r\n", "\n").replace("\r", "\n") if text else None

    values = [lines(row[0]) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert values == [lines("'" + c if c.startswith(FORMULA_PREFIXES) else c) for c in cells]


def test_excel_export_of_a_cell_with_a_control_character_works():
    table = pd.DataFrame({"adresse": ["12 rue de la Gare\x0b62300 Lens"]})

    sheet = openpyxl.load_workbook(io.BytesIO(to_excel(table))).active

    assert "12 rue de la Gare" in sheet["A2"].value


# ---------------------------------------------------------------------------------------------
# Nothing personal in the logs


class Recorder(logging.Handler):
    """Keeps every record of the loggers it is attached to, formatted as a log file would."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(record.args))


@pytest.fixture
def debug_logs():
    """Root, urllib3, requests, streamlit and geo loggers at DEBUG, recorded."""
    recorder = Recorder()
    names = ["", "urllib3", "urllib3.connectionpool", "requests", "streamlit", "geo", "ui"]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(recorder)
    yield recorder
    for name in names:
        logger = logging.getLogger(name)
        logger.removeHandler(recorder)
        logger.setLevel(saved[name])


SECRET = "Confidentielmarqueur"  # a word that only the user typed


def test_an_address_looked_up_leaves_no_trace_in_the_logs(
    debug_logs, monkeypatch, geoplateforme, processed, capfd
):
    monkeypatch.setenv("QPV_GEOCODER_URL", geoplateforme.url)
    monkeypatch.setenv("QPV_BASEMAP", "aucun")
    target = geoplateforme.address_in("QP062025")
    typed = f"{target.label} {SECRET}"

    at = apptest.open_page("pages/adresse.py", timeout=TIMEOUT, q=typed)
    apptest.type_into(at, "adresse_saisie", f"Lens {SECRET}")  # a suggestion request
    apptest.type_into(at, "adresse_saisie", f"{SECRET} {target.label}", enter=True)
    # A point typed as coordinates is sent for the nearest address: it is personal data too.
    at.text_input(key="adresse_longitude").input(f"{target.lon:.6f}")
    at.text_input(key="adresse_latitude").input(f"{target.lat:.6f}")
    next(b for b in at.button if b.label == "Situer ce point").click().run()

    assert not at.exception, at.exception
    assert geoplateforme.count("/search") == 2  # both lookups did happen
    assert geoplateforme.count("/completion") >= 1
    assert geoplateforme.count("/reverse") == 1
    assert any("Dans le quartier prioritaire" in m.value for m in at.markdown)
    assert any(line.startswith("urllib3") for line in debug_logs.lines), "nothing was logged"
    out, err = capfd.readouterr()
    logs = "\n".join([*debug_logs.lines, out, err])
    for path in ("/geocodage/search?<masqué>", "/geocodage/completion?<masqué>",
                 "/geocodage/reverse?<masqué>"):  # fmt: skip
        assert path in logs
    for secret in (SECRET, target.label, target.label.replace(" ", "+"), "QP062025%29"):
        assert secret not in logs
    for coordinate in (f"{target.lon:.6f}", f"{target.lat:.6f}"):
        assert coordinate not in logs


def test_a_checked_file_leaves_no_trace_in_the_logs(
    debug_logs, monkeypatch, geoplateforme, geoplateforme_addresses, processed, capfd
):
    monkeypatch.setenv("QPV_GEOCODER_URL", geoplateforme.url)
    monkeypatch.setenv("QPV_BASEMAP", "aucun")
    cells = [f"{a.label} {SECRET}{i}" for i, a in enumerate(geoplateforme_addresses[:4])]
    data = "nom;adresse\n" + "".join(f"M. {SECRET}nom{i};{c}\n" for i, c in enumerate(cells))

    at = apptest.open_page("pages/fichier.py", timeout=TIMEOUT)
    at.file_uploader[0].upload("personnes.csv", data.encode(), "text/csv").run()
    next(b for b in at.button if b.label.startswith("Vérifier les")).click().run()

    assert not at.exception, at.exception
    assert geoplateforme.count("/search/csv") == 1
    assert [h.value for h in at.header] == ["Résultat"]
    assert any(line.startswith("urllib3") for line in debug_logs.lines), "nothing was logged"
    out, err = capfd.readouterr()
    logs = "\n".join([*debug_logs.lines, out, err])
    assert SECRET not in logs
    assert not any(a.label in logs for a in geoplateforme_addresses[:4])
