"""`v2c-solar sessions`: table, CSV, filters, and one-line errors that never create a database."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.storage import SqlStore
from optimizer.cli.main import app
from optimizer.cli.sessions import CSV_COLUMNS
from tests.conftest import STORE_T0 as T0
from tests.conftest import make_session

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    with SqlStore(url) as store:
        store.record_session(make_session("garage", 0))  # 7.4 kWh, 6.1 solar, 3 h
        store.record_session(
            make_session("garage", 24, end=None, energy_wh=0.0, solar_wh=0.0, grid_wh=0.0)
        )
        store.record_session(
            make_session("carport", 48, cost=None, target_wh=None, target_met=None)
        )
        store.commit()
    return url


def test_table_lists_every_session_with_its_numbers(db: str) -> None:
    result = runner.invoke(app, ["sessions", "--db", db])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "3 charging session(s)" in out
    row = next(line for line in out.splitlines() if "2024-06-01 06:00" in line)
    for cell in ("garage", "2024-06-01 09:00", "3h00", "7.40", "6.10", "1.30", "82%", "0.39"):
        assert cell in row
    assert "7.00" in row and "yes" in row
    open_row = next(line for line in out.splitlines() if "2024-06-02 06:00" in line)
    assert "open" in open_row and "%" not in open_row


def test_csv_is_parseable_and_filters_apply(db: str) -> None:
    result = runner.invoke(
        app, ["sessions", "--db", db, "--csv", "--device", "garage", "--since", "2024-06-01"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["start"] for r in rows] == ["2024-06-01T06:00:00+00:00", "2024-06-02T06:00:00+00:00"]
    first, still_open = rows
    assert float(first["energy_kwh"]) == pytest.approx(7.4)
    assert float(first["solar_share"]) == pytest.approx(6100 / 7400, abs=1e-4)
    assert first["duration_s"] == str(3 * 3600) and first["target_met"] == "true"
    assert still_open["end"] == "" and still_open["solar_share"] == ""


def test_since_accepts_a_time_with_offset(db: str) -> None:
    since = (T0 + timedelta(hours=24)).isoformat()
    result = runner.invoke(app, ["sessions", "--db", db, "--csv", "--since", since])
    assert [r["device_id"] for r in csv.DictReader(io.StringIO(result.stdout))] == [
        "garage",
        "carport",
    ]


def test_db_url_comes_from_the_environment(db: str) -> None:
    result = runner.invoke(app, ["sessions", "--csv"], env={"V2C_SOLAR_DB": db})
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 4


def test_missing_database_is_one_line_exit_1_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.db"
    result = runner.invoke(app, ["sessions", "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "database file not found" in result.stderr and str(missing) in result.stderr
    assert not missing.exists()


def test_corrupt_database_is_one_line_exit_1(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"\x00garbage" * 512)
    result = runner.invoke(app, ["sessions", "--db", f"sqlite:///{corrupt}"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot open database")
    assert result.stderr.strip().count("\n") == 0


def test_malformed_url_is_named_with_its_password_redacted() -> None:
    result = runner.invoke(app, ["sessions", "--db", "postgresql://me:hunter2@db:port/x"])
    assert result.exit_code == 2  # a usage error, as in `budget`
    assert "postgresql://me:***@db:port/x" in result.stderr
    assert "hunter2" not in result.output


def test_bad_since_is_a_one_line_usage_error(db: str) -> None:
    result = runner.invoke(app, ["sessions", "--db", db, "--since", "2024-13-01"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --since '2024-13-01' is not a date (expected YYYY-MM-DD or an ISO 8601 time)"
    )
