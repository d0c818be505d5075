"""Reading users' files: encodings, separators, limits, hostile content."""

import io
import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import InputError
from geo.tabular import (
    Limits,
    guess_address_columns,
    guess_lonlat_columns,
    join_address,
    parse_coordinates,
    read_table,
)

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


def test_join_address_skips_blank_parts_and_needs_existing_columns():
    df = pd.DataFrame({"a": ["1 rue X", "2 rue Y"], "b": ["", "62300"]})
    assert join_address(df, ["a", "b"]).tolist() == ["1 rue X", "2 rue Y 62300"]
    with pytest.raises(InputError):
        join_address(df, ["zz"])


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
