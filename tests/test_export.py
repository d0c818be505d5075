"""Exports of the comparison: French CSV and Excel give back the same numbers, safely."""

import csv
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from geo import compare
from geo.export import excel_cut_note, read_csv_fr, to_csv_fr, to_excel


@pytest.fixture(scope="module")
def exported(dataset) -> pd.DataFrame:
    result = compare.compare(dataset, ["QN06224M", "QN06227M", "QN06245M"])
    return compare.labelled(result)


def numeric_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]


def assert_same_numbers(back: pd.DataFrame, sent: pd.DataFrame) -> None:
    assert list(back.columns) == list(sent.columns)
    for column in numeric_columns(sent):
        np.testing.assert_allclose(
            back[column].astype(float), sent[column].astype(float), rtol=0, atol=1e-9,
            err_msg=column,
        )  # fmt: skip


def test_csv_uses_french_conventions(exported):
    data = to_csv_fr(exported)

    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    lines = data.decode("utf-8-sig").splitlines()
    header = lines[0].split(";")
    assert header[:3] == ["Type", "Code", "Nom"]
    assert "Taux de pauvreté (%)" in header
    cells = dict(zip(header, lines[1].split(";"), strict=True))
    assert cells["Nom"] == "Cité 12-14"
    assert cells["Population"] == "3087"
    assert cells["Taux d'emploi (%)"] == "44,0"
    # 2024 perimeters of the mirror are simplified: the area is rounded to the unit, as shown.
    assert cells["Surface (ha)"] == "98"


def test_csv_read_back_gives_the_same_numbers(exported):
    back = read_csv_fr(to_csv_fr(exported))

    assert_same_numbers(back, exported)
    # Missing values come back missing, not as zero.
    maroc = back.set_index("Code").loc["QN06245M"]
    assert pd.isna(maroc["Logements sociaux"])
    assert "valeur manquante" in maroc["Remarques"]
    assert back.set_index("Code").loc["QN06227M", "Population"] == 1765


def test_excel_round_trip_gives_the_same_numbers(exported):
    back = pd.read_excel(io.BytesIO(to_excel(exported, sheet_name="Comparaison")))

    assert_same_numbers(back, exported)
    assert list(back["Nom"].iloc[:3]) == [
        "Cité 12-14",
        "Sellier Cité 4",
        "Quartier Du Maroc - La Canche",
    ]
    workbook = openpyxl.load_workbook(io.BytesIO(to_excel(exported, sheet_name="Comparaison")))
    assert workbook.sheetnames == ["Comparaison"]


DANGEROUS = ['=HYPERLINK("http://example.com","x")', "+33 6 00", "-2+3", "@SUM(A1)", "\tA"]


def test_formulas_are_neutralized_in_csv_and_excel():
    df = pd.DataFrame({"Nom": [*DANGEROUS, "Cité 2"], "Valeur": [1.5, -2.25, 3.0, -4.0, 5.0, 6.0]})

    back = read_csv_fr(to_csv_fr(df))
    assert list(back["Nom"]) == [*("'" + v for v in DANGEROUS), "Cité 2"]
    # Negative numbers are numbers, not text: they keep their sign and are not quoted.
    assert list(back["Valeur"]) == [1.5, -2.25, 3.0, -4.0, 5.0, 6.0]

    sheet = openpyxl.load_workbook(io.BytesIO(to_excel(df))).active
    for row, value in enumerate(DANGEROUS, start=2):
        cell = sheet.cell(row=row, column=1)
        assert cell.data_type == "s"  # a string, never a formula
        assert cell.value == "'" + value
    assert sheet.cell(row=3, column=2).value == -2.25


def test_a_header_starting_with_a_formula_sign_is_neutralized():
    back = read_csv_fr(to_csv_fr(pd.DataFrame({"=1+1": [1], "-x": [2]})))
    assert list(back.columns) == ["'=1+1", "'-x"]


def test_excel_cuts_a_cell_too_long_visibly_and_says_where():
    table = pd.DataFrame(
        {"court": ["a", "b", "c"], "long": ["x" * 32_767, "=" + "y" * 32_767, "z" * 50_000]}
    )

    note = excel_cut_note(table)
    sheet = openpyxl.load_workbook(io.BytesIO(to_excel(table))).active

    assert note == (
        "2 cellules dépassent 32\u202f767 caractères, le maximum d'une cellule Excel : dans le "
        "fichier Excel, elles sont coupées et se terminent par « … » (dans le classeur : "
        "colonne « long », lignes 3, 4). Le fichier CSV les garde entières."
    )
    assert sheet["B2"].value == "x" * 32_767  # exactly the limit: whole
    assert sheet["B3"].value == "'=" + "y" * 32_764 + "…"
    assert len(sheet["B4"].value) == 32_767 and sheet["B4"].value.endswith("z…")
    assert read_csv_fr(to_csv_fr(table))["long"][2] == "z" * 50_000
    assert excel_cut_note(table.iloc[:1]) is None


def test_csv_cells_are_those_of_the_csv_module_for_repeated_and_distinct_texts():
    # Few distinct texts (statuses, remarks) are written from their distinct values, a column
    # of distinct texts cell by cell: a spreadsheet reads the same cells either way.
    texts = ["=1+1", "a ; b", 'dit "oui"', "ligne\nsuivante", "Cité 2", None]
    repeated = texts * 200
    distinct = [None if t is None else f"{t} {i}" for i, t in enumerate(repeated)]
    df = pd.DataFrame({"répétées": repeated, "distinctes": distinct})

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(df.columns)
    for row in zip(repeated, distinct, strict=True):
        writer.writerow(["" if t is None else "'" + t if t.startswith("=") else t for t in row])
    assert to_csv_fr(df) == buffer.getvalue().encode("utf-8-sig")
