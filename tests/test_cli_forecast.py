"""`v2c-solar forecast evaluate|show` through the root app."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer.cli.main import app

runner = CliRunner()

SITE_TOML = """
[site]
latitude = 47.05
longitude = 15.44
timezone = "Europe/Vienna"
[[site.arrays]]
kwp = 8.0
tilt_deg = 30.0
azimuth_deg = 180.0
inverter_ac_w = 7000.0
"""


@pytest.fixture(scope="module")
def pv_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("sunpeek_exampledata") is None:
        pytest.skip("sunpeek-exampledata not installed: pip install -e '.[data]'")
    from adapters.datasets import load_graz_pv

    pv = load_graz_pv(start="2017-05-10", end="2017-05-13").iloc[::2]  # a 2-min meter
    local = pv.tz_convert("Europe/Vienna")
    path = tmp_path_factory.mktemp("pv") / "pv.csv"
    local.rename("pv_w").rename_axis("timestamp").to_csv(path)
    return path


@pytest.mark.data
def test_evaluate_prints_json_with_every_horizon_and_method(pv_csv: Path) -> None:
    args = ["forecast", "evaluate", "--pv", str(pv_csv), "--lat", "47.05", "--lon", "15.44"]
    result = runner.invoke(app, [*args, "--kwp", "8", "--sample-every", "4min", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["mae_w"]) == {"5", "15", "60", "240"}
    for scores in data["mae_w"].values():
        assert set(scores) == {"forecast", "persistence", "smart_persistence", "clear_sky"}
    assert data["mae_w"]["60"]["forecast"] > 0
    assert 4.0 < data["calibrated_kwp"] < 12.0


@pytest.mark.data
def test_evaluate_table_with_a_config_file(pv_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(SITE_TOML)
    result = runner.invoke(
        app, ["forecast", "evaluate", "--pv", str(pv_csv), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "smart persistence" in result.stdout and "240 min" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lat", "47", "--lon", "15", "--kwp", "8"], "exactly one of --pv"),
        (["--pv", "nope.csv", "--lat", "95", "--lon", "15", "--kwp", "8"], "latitude"),
        (["--pv", "nope.csv", "--lat", "47", "--lon", "15", "--kwp", "8"], "no such file"),
        (["--dataset", "mars", "--kwp", "8"], "unknown 'mars'"),
        (["--pv", "x.csv", "--kwp", "8", "--lat", "1", "--lon", "1", "--sample-every", "soon"],
         "--sample-every"),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_line_errors_with_exit_code_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["forecast", "evaluate", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_show_prints_hourly_clear_sky_and_plots(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(SITE_TOML)
    plot = tmp_path / "cs.png"
    args = ["forecast", "show", "--config", str(config), "--hours", "24"]
    result = runner.invoke(app, [*args, "--start", "2017-06-01T00:00Z", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "2017-06-01 13:00" in result.stdout  # local time, Europe/Vienna
    assert plot.stat().st_size > 1000


def test_show_rejects_an_invalid_site(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(SITE_TOML.replace("tilt_deg = 30.0", "tilt_deg = 120.0"))
    result = runner.invoke(app, ["forecast", "show", "--config", str(config)])
    assert result.exit_code == 2
    assert "tilt_deg" in result.stderr
