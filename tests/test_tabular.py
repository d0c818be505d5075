"""Reading users' files: encodings, separators, limits, hostile content."""

import io
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.coordinates import parse_coordinates
from geo.errors import InputError
from geo.tabular import (
    LINE,
    UPLOAD_LIMITS,
    Limits,
    guess_address_columns,
    guess_lonlat_columns,
    join_address,
    load_table,
    read_table,
)
from support.hostile_files import FILES, MAIN_NS, PKG_REL_NS, REL_NS, sheet, text_cell, workbook

ROWS = [("12 rue de la Gare", "62300", "Lens"), ("3 place Jean Jaurès", "62800", "Liévin")]


def csv_bytes(sep=";", encoding="utf-8", bom=False):
    text = f"adresse{sep}code postal{sep}ville\n" + "\n".join(sep.join(r) for r in ROWS) + "\n"
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


@pytest.mark.parametrize("sep", [";", ",", "\t"])
@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("cp1252", False)]
)
def test_french_csv_variants_give_the_same_table(sep, encoding, bom):
    df = read_table(csv_bytes(sep, encoding, bom), "adresses.csv")
    assert list(df.columns) == ["adresse", "code postal", "ville"]
    assert df.iloc[1].tolist() == ["3 place Jean Jaurès", "62800", "Liévin"]


def test_excel_file_is_read():
    buf = io.BytesIO()
    pd.DataFrame(ROWS, columns=["Adresse", "CP", "Commune"]).to_excel(buf, index=False)
    df = read_table(buf.getvalue(), "fichier.xlsx")
    assert df["Commune"].tolist() == ["Lens", "Liévin"]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "vide.csv", "vide"),
        (b"adresse;ville\n", "entete.csv", "aucune ligne"),
        (b"\x00\x01\x02binary\x00" * 10, "image.csv", "binaire"),
        (b"%PDF-1.4 not a table", "doc.csv", "binaire"),
        (b"this is not a zip", "faux.xlsx", "renommé"),
        (b"a;b\n1;2\n", "table.ods", "non pris en charge"),
        (b"a;b\n1;2\n", "vieux.xls", ".xls"),
    ],
)
def test_unusable_files_get_a_french_message(data, name, message):
    with pytest.raises(InputError, match=message):
        read_table(data, name)


def test_size_and_row_limits_are_enforced():
    big = b"adresse\n" + b"1 rue x\n" * 20
    with pytest.raises(InputError, match="limite"):
        read_table(big, "a.csv", limits=Limits(max_bytes=50))
    with pytest.raises(InputError, match="lignes"):
        read_table(big, "a.csv", limits=Limits(max_rows=10))


def test_zip_bomb_disguised_as_xlsx_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<x/>")
        z.writestr("xl/worksheets/sheet1.xml", "0" * 30_000_000)
    with pytest.raises(InputError, match="anormalement"):
        read_table(buf.getvalue(), "bombe.xlsx")


def test_columns_are_guessed():
    assert guess_address_columns(["id", "Adresse", "Code postal", "Ville"]) == [
        "Adresse",
        "Code postal",
        "Ville",
    ]
    assert guess_lonlat_columns(["nom", "Longitude", "Latitude"]) == ("Longitude", "Latitude")
    assert guess_lonlat_columns(["nom", "adresse"]) is None


def test_coordinates_accept_a_decimal_comma_and_reject_text():
    values = parse_coordinates(pd.Series(["2,83", "50.43", "abc", ""]))
    assert values[:2].tolist() == [2.83, 50.43]
    assert pd.isna(values[2:]).all()


def test_coordinates_read_the_same_whatever_their_spelling():
    # Plain decimals and every other spelling (integer, exponent, sign, padding) give the
    # number typed: the -0 of a sign too, as the CSV writes it back (« -0,0 »).
    typed = ["2,8457620", " -0,0 ", "+2.5", "50", "5e1", "0,00001", "-12.5", "1 000", "inf"]
    values = parse_coordinates(pd.Series(typed * 300))  # a column long enough for any path
    expected = [2.845762, -0.0, 2.5, 50.0, 50.0, 1e-05, -12.5, np.nan, np.inf]
    np.testing.assert_array_equal(values[:9], expected)
    assert np.signbit(values[1]) and not np.signbit(values[2])
    np.testing.assert_array_equal(values, expected * 300)


def test_join_address_skips_blank_parts_and_needs_existing_columns():
    df = pd.DataFrame({"a": ["1 rue X", "2 rue Y"], "b": ["", "62300"]})
    assert join_address(df, ["a", "b"]).tolist() == ["1 rue X", "2 rue Y 62300"]
    with pytest.raises(InputError):
        join_address(df, ["zz"])


@pytest.mark.parametrize("data", [b"\xef", b"\xef\xbb"])
def test_a_file_cut_inside_a_utf8_byte_order_mark_gets_a_french_message(data):
    # Found by the property below: Python's utf-8-sig decoder kept the bytes, then failed.
    with pytest.raises(InputError, match="aucune ligne de données"):
        read_table(data, "f.csv")


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.binary(max_size=3000), name=st.sampled_from(["f.csv", "f.xlsx", "f.txt", "f"]))
def test_any_bytes_either_parse_or_raise_input_error(data, name):
    try:
        df = read_table(data, name)
    except InputError as exc:
        assert str(exc)
    else:
        assert len(df) >= 1 and df.shape[1] >= 1


@settings(max_examples=100, deadline=None)
@given(
    cells=st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000),
        min_size=1,
        max_size=5,
    ),
    sep=st.sampled_from([";", ","]),
)
def test_quoted_cells_with_formulas_separators_and_huge_text_round_trip(cells, sep):
    buf = io.StringIO()
    pd.DataFrame({"col": [*cells, '=HYPERLINK("http://x")']}).to_csv(buf, index=False, sep=sep)
    try:
        df = read_table(buf.getvalue().encode("utf-8"), "f.csv")
    except InputError:
        return  # e.g. cells made only of blank lines: refused with a message, never a crash
    assert '=HYPERLINK("http://x")' in df.iloc[:, 0].tolist()


def test_a_row_with_more_fields_than_the_header_is_refused_not_truncated():
    with pytest.raises(InputError, match="mal formé"):
        read_table(b"adresse;ville\n1 rue X;Lens;en trop\n", "a.csv")


# ---------------------------------------------------------------------------------------------
# Encodings: each one read back exactly, and named

FRENCH_TABLE = (
    "nom;adresse;commune\n"
    "Élise;12 rue de l'Égalité;Liévin\n"
    "Marc;3 place Jean Jaurès;Hénin-Beaumont\n"
    "Zoé;8 rue du Général de Gaulle;Pont-à-Vendin\n"
    "Noël;2 chemin de l'Île;Fouquières-lès-Lens\n"
)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (FRENCH_TABLE.encode("utf-8"), "UTF-8"),
        (FRENCH_TABLE.encode("utf-8-sig"), "UTF-8 (avec BOM)"),
        (FRENCH_TABLE.encode("utf-16"), "UTF-16"),
        (FRENCH_TABLE.encode("utf-16-be"), "UTF-16"),  # no byte-order mark
        (FRENCH_TABLE.encode("cp1252"), "Windows-1252 (identique à ISO-8859-15 pour ce fichier)"),
        ((FRENCH_TABLE + "Anne;1 rue d’Arras;Lens\n").encode("cp1252"), "Windows-1252"),
        ((FRENCH_TABLE + "Anne;5 €, cœur et sœur;Lens\n").encode("iso8859_15"), "ISO-8859-15"),
        (FRENCH_TABLE.encode("mac_roman"), "MacRoman"),
    ],
)
def test_each_encoding_is_read_exactly_and_named(data, encoding):
    table = load_table(data, "adresses.csv", limits=UPLOAD_LIMITS)

    assert table.source == f"CSV séparé par « ; », encodage {encoding}"
    assert table.frame.loc[2, "commune"] == "Liévin"
    assert table.frame.loc[3, "adresse"] == "3 place Jean Jaurès"
    assert table.frame.loc[5, "commune"] == "Fouquières-lès-Lens"
    if "ISO" in encoding.split(" (")[0]:
        assert table.frame.iloc[-1]["adresse"] == "5 €, cœur et sœur"


def test_a_utf8_file_with_one_windows_byte_is_refused_with_its_line():
    data = FRENCH_TABLE.encode() + "Anne;1 rue de Liévin;Lens\n".encode("cp1252")

    with pytest.raises(InputError) as refused:
        load_table(data, "melange.csv", limits=UPLOAD_LIMITS)

    message = str(refused.value)
    assert message.startswith(
        "Ce fichier mélange deux encodages : il est en UTF-8, sauf la ligne 6"
    )
    assert "0xE9, « é » en Windows-1252" in message
    assert "« CSV UTF-8 »" in message


def test_a_truncated_utf16_file_is_refused():
    with pytest.raises(InputError, match="UTF-16 mais il est tronqué"):
        load_table(FRENCH_TABLE.encode("utf-16")[:-1], "a.csv", limits=UPLOAD_LIMITS)


# ---------------------------------------------------------------------------------------------
# CSV: lines of the user's file, duplicate names, header limits


def test_each_row_keeps_the_line_of_the_users_file():
    data = b'\r\nnom;note\r\n\r\nA;un\r\n\r\n\r\nB;"deux\r\nlignes"\r\nC;trois\r\n'

    frame = load_table(data, "a.csv", limits=UPLOAD_LIMITS).frame

    assert frame.index.name == LINE
    assert list(frame.index) == [4, 7, 9]  # blank lines and the quoted line break counted
    assert list(frame["nom"]) == ["A", "B", "C"]
    assert frame.loc[7, "note"] == "deux\r\nlignes"


def test_duplicate_column_names_are_renamed_and_said():
    data = b"lat;lon;lat;;lat;lat (2)\n1;2;3;4;5;6\n"

    table = load_table(data, "a.csv", limits=UPLOAD_LIMITS)

    assert list(table.frame.columns) == ["lat", "lon", "lat (3)", "colonne 4", "lat (4)", "lat (2)"]
    assert table.frame.iloc[0].tolist() == ["1", "2", "3", "4", "5", "6"]
    (note,) = table.notes
    assert note == (
        "Plusieurs colonnes portent le même nom : elles sont renommées pour rester distinctes, "
        "dans l'ordre du fichier : « lat » (« lat », « lat (3) », « lat (4) »)."
    )


def test_an_empty_unnamed_column_is_dropped_and_a_row_of_empty_cells_kept():
    frame = read_table(b"nom;;ville;\nA;;Lens;\n;;;\nB;;Lens;\n", "a.csv")

    assert list(frame.columns) == ["nom", "ville"]
    assert frame["nom"].tolist() == ["A", "", "B"]


def test_a_header_of_300000_columns_is_refused_before_any_parsing():
    data = b"lat;" * 300_000 + b"\n" + b"1;" * 300_000 + b"\n"

    with pytest.raises(InputError) as refused:
        read_table(data, "a.csv")

    assert str(refused.value) == (
        "Le fichier a 300\u202f001 colonnes d'après son en-tête (sa première ligne) : 200 au plus."
    )


def test_a_header_line_too_long_is_refused():
    names = ";".join("x" * 300 for _ in range(100))

    with pytest.raises(InputError, match="fait 30\u202f099 caractères : 20\u202f000 au plus"):
        read_table(f"{names}\n{';' * 99}\n".encode(), "a.csv")


def test_a_row_with_a_value_past_the_header_names_its_line():
    with pytest.raises(InputError) as refused:
        read_table(b"a;b\n1;2\n\n3;4;5\n", "a.csv")

    assert "mal formé (ligne 4 : 3 valeurs pour 2 colonnes, séparateur « ; »)" in str(refused.value)


def test_trailing_empty_fields_are_not_an_error():
    assert read_table(b"a;b\n1;2;;\n", "a.csv").iloc[0].tolist() == ["1", "2"]


def test_the_size_message_is_exact_near_the_limit():
    limit = UPLOAD_LIMITS.max_bytes
    with pytest.raises(InputError) as just_over:
        read_table(b"a\n" + b"1" * (limit - 1), "a.csv")
    with pytest.raises(InputError) as far_over:
        read_table(b"a\n" + b"1" * (2 * limit), "a.csv")

    assert str(just_over.value) == (
        "Le fichier pèse 5\u202f242\u202f881 octets : la limite est de 5 Mo "
        "(5\u202f242\u202f880 octets). "
        "Découpez-le en plusieurs fichiers."
    )
    assert str(far_over.value).startswith("Le fichier pèse 10 Mo : la limite est de 5 Mo.")


def test_the_limits_are_stated_in_french():
    assert UPLOAD_LIMITS.describe() == "10\u202f000 lignes et 5 Mo au plus"
    assert Limits(max_rows=None, max_bytes=50 * 2**20).describe() == "50 Mo au plus"


def test_without_a_row_limit_the_cell_limit_still_bounds_a_file():
    limits = Limits(max_rows=None, max_cells=100)

    with pytest.raises(InputError, match="plus de 100 cellules"):
        read_table(b"a;b\n" + b"1;2\n" * 51, "a.csv", limits=limits)
    assert len(read_table(b"a;b\n" + b"1;2\n" * 50, "a.csv", limits=limits)) == 50


# ---------------------------------------------------------------------------------------------
# Excel: streamed, limits before work, damage said in French


def test_an_excel_sheet_gives_text_as_excel_shows_it():
    buf = io.BytesIO()
    pd.DataFrame(
        {
            "nom": ["Élise", "Marc"],
            "cp": [62300, 62800],
            "lon": [2.8378, 2.9],
            "date": [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01 08:30")],
            "inscrit": [True, False],
        }
    ).to_excel(buf, index=False, sheet_name="Adresses")

    table = load_table(buf.getvalue(), "a.xlsx", limits=UPLOAD_LIMITS)

    assert table.source == "classeur Excel, première feuille (« Adresses »)"
    assert table.frame.to_dict("list") == {
        "nom": ["Élise", "Marc"],
        "cp": ["62300", "62800"],
        "lon": ["2.8378", "2.9"],
        "date": ["2024-01-31", "2024-02-01 08:30:00"],
        "inscrit": ["VRAI", "FAUX"],
    }
    assert list(table.frame.index) == [2, 3]


def test_excel_rows_keep_their_sheet_row_number_and_skip_blank_rows():
    rows = (
        f'<row r="3">{text_cell("B3", "nom")}{text_cell("C3", "ville")}</row>'
        f'<row r="4">{text_cell("B4", "A")}{text_cell("C4", "Lens")}</row>'
        f'<row r="9">{text_cell("C9", "Liévin")}</row>'
    )

    frame = read_table(workbook(sheet(rows)), "a.xlsx")

    assert list(frame.columns) == ["nom", "ville"]  # empty column A left out
    assert list(frame.index) == [4, 9]
    assert frame["ville"].tolist() == ["Lens", "Liévin"]


@pytest.mark.parametrize("dimension", [None, "A1:B2", "A1:XFD1048576"])
def test_the_declared_dimension_is_not_trusted(dimension):
    rows = f'<row r="1">{text_cell("A1", "nom")}</row>' + "".join(
        f'<row r="{r}">{text_cell(f"A{r}", str(r))}</row>' for r in range(2, 6)
    )

    frame = read_table(workbook(sheet(rows, dimension=dimension)), "a.xlsx")

    assert frame["nom"].tolist() == ["2", "3", "4", "5"]


def test_formulas_without_a_computed_value_are_reported():
    book = openpyxl.Workbook()
    book.active.append(["nom", "x", "total"])
    for i in range(2, 10):
        book.active.append([f"n{i}", i, f"=B{i}*2"])
    buf = io.BytesIO()
    book.save(buf)

    table = load_table(buf.getvalue(), "a.xlsx", limits=UPLOAD_LIMITS)

    assert table.frame["total"].tolist() == [""] * 8
    (note,) = table.notes
    assert note.startswith(
        "La colonne « total » (C) contient des formules dont le classeur n'a pas enregistré la "
        "valeur (lignes 2, 3, 4, 5, 6 et 3 autres) : elles sont lues comme vides."
    )


def test_shared_and_rich_texts_are_read_whole():
    sst = (
        f'<sst xmlns="{MAIN_NS}"><si><t>nom</t></si><si><r><t>Lié</t></r><r><t>vin</t></r>'
        "<rPh><t>リエヴァン</t></rPh></si></sst>"
    )
    rels = (
        f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/worksheet"'
        ' Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
        f'Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    )
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
    )
    data = workbook(
        sheet(rows),
        parts={"xl/sharedStrings.xml": sst.encode(), "xl/_rels/workbook.xml.rels": rels.encode()},
    )

    assert read_table(data, "a.xlsx")["nom"].tolist() == ["Liévin"]


@pytest.mark.parametrize("hostile", [f for f in FILES if f.filename.endswith(".xlsx")],
                         ids=lambda f: f.key)  # fmt: skip
def test_a_hostile_workbook_is_refused_in_french(hostile):
    with pytest.raises(InputError) as refused:
        read_table(hostile.data(), hostile.filename)

    assert hostile.said(str(refused.value)), str(refused.value)


def test_a_password_protected_workbook_is_said_so():
    with pytest.raises(InputError, match="protégé par un mot de passe"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "a.xlsx")


def test_a_declared_table_of_texts_over_the_limit_is_refused_at_once():
    sst = f'<sst xmlns="{MAIN_NS}" count="3" uniqueCount="3"><si><t>a</t></si></sst>'
    rels = (
        f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/worksheet"'
        ' Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
        f'Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    )
    data = workbook(
        sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
        parts={"xl/sharedStrings.xml": sst.encode(), "xl/_rels/workbook.xml.rels": rels.encode()},
    )

    with pytest.raises(InputError, match="plus de 2 textes"):
        read_table(data, "a.xlsx", limits=Limits(max_cells=2))


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"a;b\n" + b"1;2\n" * 5_000, "a.csv"),
        (workbook(sheet("".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>'
                                for r in range(1, 20_000)))), "a.xlsx"),
    ],
    ids=["csv", "xlsx"],
)  # fmt: skip
def test_the_reading_stops_once_its_time_budget_is_spent(data, name):
    with pytest.raises(InputError) as refused:
        read_table(data, name, limits=Limits(max_seconds=0.0, max_rows=None))

    assert str(refused.value).startswith(
        "La lecture du fichier a dépassé 0 secondes, la limite : il est trop grand ou trop "
        "complexe."
    )
