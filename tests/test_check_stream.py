"""``python -m geo check`` on CSV files of any size: streamed, in order, every guard kept.

The page's limits (10 000 rows, 5 Mo) do not apply on the command line; what the streamed
check writes must be what the whole-file check writes, batch boundaries wherever they fall.
"""

import io
import os
import sys
from pathlib import Path

import pytest
import test_cli
from test_cli import run_geo

from geo.checkfile import check_table
from geo.checkstream import check_csv_file
from geo.cli import ProgressBar
from geo.errors import InputError
from geo.export import read_csv_fr, to_csv_fr
from geo.locate import build_locator
from geo.tabular import Limits, load_table

PARIS = ("2,3522", "48,8566")
inside_point = test_cli.inside_qp062025  # the fixture, under this name here


@pytest.fixture(scope="module")
def locator(dataset):
    return build_locator(dataset)


def test_a_file_over_the_page_limits_is_checked_whole_and_in_order(
    processed, inside_point, tmp_path
):
    lon, lat = (v.replace(".", ",") for v in inside_point)
    rows = 12_000  # over the page's 10 000 rows; the long notes take it over 5 Mo
    lines = ["id;lon;lat;note"]
    for i in range(rows):
        point = (lon, lat) if i % 3 == 0 else PARIS if i % 3 == 1 else ("", "")
        lines.append(f"{i};{point[0]};{point[1]};{'x' * 450}{i}")
    source = tmp_path / "gros.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert source.stat().st_size > 5 * 2**20
    out = tmp_path / "resultat.csv"

    done = run_geo("check", str(source), "-o", str(out), "--lonlat-columns", "lon,lat")

    assert done.returncode == 0, done.stderr
    result = read_csv_fr(out.read_bytes())
    assert list(result["id"]) == list(range(rows))
    assert list(result["note"]) == [f"{'x' * 450}{i}" for i in range(rows)]
    statuses = list(result["qpv_2015_statut"])
    assert statuses[:3] == ["dans", "hors territoire", "non localisée"]
    assert statuses == statuses[:3] * (rows // 3)
    assert set(result.loc[::3, "qpv_2015_code"]) == {"QP062025"}
    assert "12\u202f000 lignes vérifiées" in done.stdout
    assert "\r" not in done.stderr  # no progress bar when stderr is not a terminal


def test_streamed_output_is_the_whole_file_check_whatever_the_batches(
    locator, inside_point, tmp_path
):
    lon, lat = (v.replace(".", ",") for v in inside_point)
    text = (
        "nom;lon;lat;nom\n"
        + (
            f"=HYPERLINK(1);{lon};{lat};a\n"
            "\n"
            f"Liévin, vide;;;b\n"
            f"Paris;{PARIS[0]};{PARIS[1]};c\n"
            f'"deux\r\nlignes";{lon};{lat};"d;e"\n'  # from here on, read by the csv module
            f"-1+1;{lon};x;f\n"
            f"@ici;200;{lat};g\n"
        )
        * 40
    )
    source = tmp_path / "mixte.csv"
    source.write_bytes(text.encode("cp1252"))
    whole = load_table(source.read_bytes(), "mixte.csv", limits=Limits(max_rows=None))
    expected = to_csv_fr(check_table(whole.frame, locator, lonlat_columns=("lon", "lat")).rows)

    for block_chars in (64, 1_000, 1 << 20):
        out = tmp_path / f"sortie_{block_chars}.csv"
        said = []
        result = check_csv_file(
            source,
            out,
            lambda: locator,
            settings=lambda columns: {"lonlat_columns": ("lon", "lat")},
            notes=said.append,
            block_chars=block_chars,
        )
        assert out.read_bytes() == expected, block_chars
        assert result.total == len(whole.frame) == 6 * 40  # blank lines skipped
        assert said == list(whole.notes)  # the renamed « nom (2) »
        assert result.source == whole.source and "Windows-1252" in result.source


def test_a_malformed_row_late_in_the_file_leaves_the_output_untouched(locator, tmp_path):
    source = tmp_path / "casse.csv"
    good = "".join(f"{i};2,35;48,85\n" for i in range(5_000))
    source.write_text("id;lon;lat\n" + good + "5000;2,35;48,85;en trop\n", encoding="utf-8")
    out = tmp_path / "resultat.csv"
    out.write_bytes(b"previous result")

    with pytest.raises(InputError, match=r"mal formé \(ligne 5\u202f002 : 4 valeurs pour 3"):
        check_csv_file(
            source,
            out,
            lambda: locator,
            settings=lambda columns: {"lonlat_columns": ("lon", "lat")},
            block_chars=1_000,
        )

    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["casse.csv", "resultat.csv"]


def test_the_locator_is_not_built_for_a_file_without_usable_columns(tmp_path):
    source = tmp_path / "rien.csv"
    source.write_text("a;b\n1;2\n", encoding="utf-8")

    def no_locator():
        raise AssertionError("built for nothing")

    def settings(columns):
        raise InputError(f"Aucune colonne reconnue parmi : {', '.join(columns)}.")

    with pytest.raises(InputError, match="parmi : a, b"):
        check_csv_file(source, tmp_path / "r.csv", no_locator, settings=settings)
    assert not (tmp_path / "r.csv").exists()


def test_the_progress_bar_says_rows_rate_and_time_left():
    screen = io.StringIO()
    bar = ProgressBar(screen)

    bar(150_000, 25, 100)
    bar.close()

    shown = screen.getvalue()
    assert shown.startswith("\r[#####...............]  25 % · 150\u202f000 lignes · ")
    assert "lignes/s · reste " in shown and shown.endswith("\n")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_the_command_shows_the_bar_on_a_terminal(processed, inside_point, tmp_path):
    import subprocess

    source = tmp_path / "points.csv"
    source.write_text("lon;lat\n" + f"{PARIS[0]};{PARIS[1]}\n" * 10, encoding="utf-8")
    primary, secondary = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "geo", "check", str(source), "-o", str(tmp_path / "r.csv")],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=300,
        )
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)

    assert done.returncode == 0
    assert "100 % · 10 lignes · " in shown.decode()
