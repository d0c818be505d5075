"""Bulk geocoding a few chunks at a time: bounded, paced, in order, no row lost.

Against the Géoplateforme stand-in (``support/fake_geoplateforme.py``), which records every
request, when it arrived and how many it was answering at once.
"""

import pandas as pd
import pytest
from test_cli import run_geo

from geo.errors import GeocoderUnavailable
from geo.export import read_csv_fr
from geo.geocode_bulk import CSV_RATE, geocode_csv_rows
from geo.geocoder import RetryPolicy
from support.fake_geoplateforme import FakeGeoplateforme

pytest_plugins = ["geoplateforme_fixtures"]


def address_rows(addresses, n: int) -> pd.DataFrame:
    labels = [addresses[i % len(addresses)].label for i in range(n)]
    return pd.DataFrame({"adresse": labels}, index=pd.Index([f"r{i}" for i in range(n)]))


def test_chunks_go_a_few_at_a_time_and_come_back_in_order(geoplateforme_addresses):
    rows = address_rows(geoplateforme_addresses, 30)
    with FakeGeoplateforme(geoplateforme_addresses, latency=0.2) as server:
        out = geocode_csv_rows(rows, ["adresse"], chunk_size=3, parallel=3, url=server.url)

        assert server.count("/search/csv") == 10
        assert 1 < server.most_in_flight <= 3
    assert list(out.index) == list(rows.index)
    assert (out["geocodage_status"] == "ok").all()
    # Each row's answer is its own address (the chunks were put back in the rows' order).
    assert [label.casefold() for label in out["geocodage_label"]] == [
        label.casefold() for label in rows["adresse"]
    ]


def test_requests_stay_under_the_services_rate(geoplateforme, geoplateforme_addresses):
    rows = address_rows(geoplateforme_addresses, 70)  # 70 one-row chunks, answered at once

    geocode_csv_rows(rows, ["adresse"], chunk_size=1, parallel=8, url=geoplateforme.url)

    arrivals = sorted(r.received_at for r in geoplateforme.requests)
    assert len(arrivals) == 70
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)
    # Starts are spaced 1 / CSV_RATE apart; on a busy machine a few arrive bunched, never
    # past the Géoplateforme's quota per IP (without the pacing, all 70 come within a second).
    assert CSV_RATE < 50 and busiest <= 50


def test_a_failing_chunk_gives_unlocated_rows_and_keeps_the_others(
    geoplateforme, geoplateforme_addresses
):
    rows = address_rows(geoplateforme_addresses, 12)
    geoplateforme.set_mode("error", times=1)  # one request answered 500, not retried

    out = geocode_csv_rows(
        rows,
        ["adresse"],
        chunk_size=3,
        parallel=2,
        url=geoplateforme.url,
        policy=RetryPolicy(attempts=1),
        failed_chunks="rows",
    )

    assert list(out.index) == list(rows.index)
    failed = [i for i, status in enumerate(out["geocodage_status"]) if status == "error"]
    assert (
        len(failed) == 3 and failed[0] % 3 == 0 and failed == list(range(failed[0], failed[0] + 3))
    )
    assert (out["geocodage_status"].drop(out.index[failed]) == "ok").all()
    assert out["lon"].iloc[failed].isna().all()


def test_by_default_a_failing_chunk_is_the_tables_error(geoplateforme, geoplateforme_addresses):
    rows = address_rows(geoplateforme_addresses, 6)
    geoplateforme.set_mode("error")

    with pytest.raises(GeocoderUnavailable, match="HTTP 500"):
        geocode_csv_rows(
            rows, ["adresse"], chunk_size=3, url=geoplateforme.url, policy=RetryPolicy(attempts=1)
        )


def test_the_command_line_keeps_every_row_when_the_service_fails(
    processed, geoplateforme, geoplateforme_addresses, tmp_path
):
    source = tmp_path / "adresses.csv"
    labels = [a.label for a in geoplateforme_addresses[:5]]
    source.write_text(
        "id;adresse\n" + "".join(f"{i};{label}\n" for i, label in enumerate(labels)), "utf-8"
    )
    geoplateforme.set_mode("error")  # every request, every retry
    out = tmp_path / "resultat.csv"

    done = run_geo(
        "check", str(source), "-o", str(out), env={"QPV_GEOCODER_URL": geoplateforme.url}
    )

    assert done.returncode == 0, done.stderr
    result = read_csv_fr(out.read_bytes())
    assert list(result["id"]) == [0, 1, 2, 3, 4]
    assert set(result["qpv_2024_statut"]) == {"non localisée"}
    assert set(result["qpv_2024_remarque"]) == {
        "le service d'adresses n'a pas pu traiter cette ligne"
    }
