"""`v2c-solar plan` and `target`: the stored plan shown, a target stated from the shell."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from typer.testing import CliRunner

from adapters.storage import SqlStore
from optimizer.cli.main import app
from optimizer.cli.plan import age_text, no_plan_text, render_plan
from optimizer.planning.record import PlanRecord
from optimizer.policies.registry import PolicyConfig
from optimizer.status.target import load_target
from tests.conftest import make_plan

runner = CliRunner()

CONFIG = """
[site]
latitude = 40.4
longitude = -3.7
timezone = "Europe/Madrid"
arrays = [{{ kwp = 6.0, tilt_deg = 30.0, azimuth_deg = 180.0 }}]

[[chargers]]
device_id = "garage"

[[chargers]]
device_id = "carport"

[storage]
url = "{url}"
"""


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, str]:
    """(config file, database URL) of a two-charger site in Madrid."""
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    config = tmp_path / "home.toml"
    config.write_text(CONFIG.format(url=url), encoding="utf-8")
    return config, url


def _recent_plan() -> PlanRecord:
    """make_plan's schedule, made two minutes ago (the age is what `plan` prints)."""
    made = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    record = make_plan(0, device_id="garage", reason="new prices")
    shift = made - record.created_at
    plan = record.plan
    slots = tuple(replace(s, start=s.start + shift) for s in plan.slots)
    moved = replace(plan, start=plan.start + shift, slots=slots)
    return PlanRecord("garage", made, record.reason, record.departure + shift, moved)


def _store_plan(url: str, record: PlanRecord) -> None:
    with SqlStore(url) as store:
        store.record_plan(record)
        store.commit()


def test_no_database_yet_is_one_line_per_charger_and_exit_0(site: tuple[Path, str]) -> None:
    config, _ = site
    result = runner.invoke(app, ["plan", "--config", str(config), "--device-id", "garage"])
    assert result.exit_code == 0, result.output
    assert "garage: no plan yet" in result.stdout
    assert not (config.parent / "plan.db").exists()  # read-only: nothing created


def test_the_table_shows_local_slots_totals_reason_and_age(site: tuple[Path, str]) -> None:
    config, url = site
    record = _recent_plan()
    _store_plan(url, record)
    result = runner.invoke(app, ["plan", "--config", str(config)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "reason: new prices" in out and "made 2 min ago" in out
    first_local = record.plan.slots[2].start.astimezone(_madrid()).strftime("%H:%M")
    row = next(line for line in out.splitlines() if first_local in line and "fixed" in line)
    for cell in ("16.0", "0.92", "0.200", "0.184"):  # A, grid kWh, EUR/kWh, cost EUR
        assert cell in row
    total = next(line for line in out.splitlines() if "total" in line)
    assert f"{record.plan.cost_eur:.2f}" in total and "1.84" in total  # grid kWh
    assert "carport: no plan yet" in out


def test_json_and_the_plot(site: tuple[Path, str], tmp_path: Path) -> None:
    config, url = site
    record = _recent_plan()
    _store_plan(url, record)
    png = tmp_path / "plan.png"
    args = [
        "plan",
        "--config",
        str(config),
        "--device-id",
        "garage",
        "--json",
        "--output",
        str(png),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["plans"]
    plan = entry["plan"]
    assert entry["device_id"] == "garage" and plan["reason"] == "new prices"
    assert [s["mode"] for s in plan["slots"]] == ["off", "solar", "fixed", "fixed"]
    assert plan["grid_wh"] == pytest.approx(record.plan.grid_wh)
    assert 100 < plan["age_s"] < 300
    assert entry["target"] is None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_target_is_stored_and_shown_by_plan(site: tuple[Path, str]) -> None:
    config, url = site
    args = ["target", "--config", str(config), "--device-id", "garage", "--kwh", "20"]
    result = runner.invoke(app, [*args, "--by", "tomorrow 07:30"])
    assert result.exit_code == 0, result.output
    assert "garage: 20 kWh by" in result.stdout and "07:30 (Europe/Madrid)" in result.stdout
    with SqlStore(url, create_if_missing=False, read_only=True) as store:
        target = load_target(store, "garage")
    assert target is not None and target.energy_wh == 20_000.0
    assert target.departure is not None
    assert target.departure.astimezone(_madrid()).strftime("%H:%M") == "07:30"
    shown = runner.invoke(app, ["plan", "--config", str(config), "--device-id", "garage"])
    assert "target: 20.0 kWh by" in shown.stdout
    cleared = runner.invoke(
        app, ["target", "--config", str(config), "--device-id", "garage", "--clear"]
    )
    assert cleared.exit_code == 0 and "target cleared" in cleared.stdout
    shown = runner.invoke(app, ["plan", "--config", str(config), "--device-id", "garage"])
    assert "target: cleared" in shown.stdout


def test_a_time_already_past_today_means_tomorrow_and_says_so(site: tuple[Path, str]) -> None:
    config, _ = site
    past = (datetime.now(UTC) - timedelta(hours=1)).astimezone(_madrid()).strftime("%H:%M")
    args = ["target", "--config", str(config), "--device-id", "garage", "--kwh", "5"]
    result = runner.invoke(app, [*args, "--by", past])
    assert result.exit_code == 0, result.output
    assert f"{past} has passed today: tomorrow" in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--device-id", "shed", "--kwh", "5", "--by", "07:30"], "--device-id: unknown charger"),
        (["--device-id", "garage", "--kwh", "0", "--by", "07:30"], "--kwh: must be > 0"),
        (["--device-id", "garage", "--kwh", "500", "--by", "07:30"], "<= 200 kWh"),
        (["--device-id", "garage", "--kwh", "5", "--by", "soon"], "--by: expected HH:MM"),
        (["--device-id", "garage", "--kwh", "5", "--by", "25:10"], "--by: no such time"),
        (["--device-id", "garage", "--kwh", "5", "--by", "2020-01-01T07:00"], "in the future"),
        (["--device-id", "garage", "--kwh", "5"], "--by: missing"),
        (["--device-id", "garage", "--clear", "--kwh", "5"], "--clear: takes neither"),
    ],
)
def test_a_bad_option_is_one_line_naming_it_and_exit_2(
    site: tuple[Path, str], extra: list[str], message: str
) -> None:
    config, _ = site
    result = runner.invoke(app, ["target", "--config", str(config), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (config.parent / "plan.db").exists()  # nothing kept


def _madrid() -> ZoneInfo:
    return ZoneInfo("Europe/Madrid")


def test_an_old_plan_says_its_age_in_days_and_its_date() -> None:
    """A demo's database holds plans of its simulated day, months before now: "3954 h 06
    min ago (14:57)" read as a time of today."""
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert age_text(now - timedelta(hours=47, minutes=5), now) == "47 h 05 min"
    assert age_text(now - timedelta(days=164, hours=17), now) == "164 days"
    record = replace(_recent_plan(), created_at=datetime(2026, 6, 21, 12, 57, tzinfo=UTC))
    console = Console(width=200, record=True)
    render_plan(record, _madrid(), now, console)
    assert "made 164 days ago (Sun 21 Jun 14:57)" in console.export_text()


def test_no_plan_says_when_the_configs_policy_makes_none() -> None:
    """After the README's demo (solar_only) `plan` said only that the least-cost target
    plans once a car is plugged in, though the car had been there all day."""
    least_cost = PolicyConfig.model_validate({"name": "target"})
    assert no_plan_text(least_cost).startswith("no plan yet (target with planner = least_cost")
    assert no_plan_text(PolicyConfig()) == (
        "no plan yet (the config's policy is solar_only: only target with planner = "
        "least_cost plans)"
    )
    window = PolicyConfig.model_validate({"name": "target", "target": {"planner": "window"}})
    assert "policy is target with the window planner" in no_plan_text(window)


def _rows(console: Console) -> list[str]:
    return [line for line in console.export_text().splitlines() if "│" in line]


def test_a_run_of_off_slots_is_one_row_unless_all_slots_are_asked_for() -> None:
    """An idle plan to a morning departure printed ~60 rows of "off"."""
    record = make_plan(0, modes=("fixed", *("off",) * 60, "solar", "off"))
    now = record.created_at  # 08:00 in Madrid
    folded = Console(width=200, record=True)
    render_plan(record, _madrid(), now, folded)
    rows = _rows(folded)
    (run,) = [line for line in rows if "off (" in line]
    assert "08:15-23:15" in run and "off (60 slots)" in run
    assert "0.150-3.100" in run  # the prices of its slots, from the cheapest
    single = [line for line in rows if " off " in line and "slots" not in line]
    assert len(single) == 1 and "23:30" in single[0]  # a lone off slot stays itself
    assert len(rows) == 5  # fixed, the run, solar, the lone off, total
    every = Console(width=200, record=True)
    render_plan(record, _madrid(), now, every, all_slots=True)
    assert sum(" off " in line for line in _rows(every)) == 61


def test_plan_takes_all_slots(site: tuple[Path, str]) -> None:
    config, url = site
    record = _recent_plan()
    idle = make_plan(0, device_id="garage", modes=("off",) * 8)
    _store_plan(url, replace(record, plan=replace(idle.plan, start=record.plan.start)))
    folded = runner.invoke(app, ["plan", "--config", str(config), "--device-id", "garage"])
    every = ["plan", "--config", str(config), "--device-id", "garage", "--all-slots"]
    result = runner.invoke(app, every)
    assert folded.exit_code == 0 and result.exit_code == 0, result.output
    assert "off (8 slots)" in folded.stdout
    assert "slots)" not in result.stdout and result.stdout.count(" off ") == 8
