"""Bad input found by a hostile-user audit: each case is one clear line, never a traceback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.backtest.inputs import InputError, load_pv, load_sessions
from optimizer.cli.main import app
from optimizer.config import ConfigError, load_config

HOME = Path(__file__).resolve().parents[1] / "config" / "home.toml"
PV_HEADER = "timestamp,pv_w\n"


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def home_bytes(old: str = "", new: str = "") -> bytes:
    text = HOME.read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, 1).encode("utf-8")


GARAGE_LINE = home_bytes()[: home_bytes().index(b'"garage"')].count(b"\n") + 1
"""The line of the shipped config naming the charger "garage"."""


# ----- config -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            home_bytes().replace(b'"garage"', b'"gar\xffage"'),
            f"line {GARAGE_LINE}: not UTF-8 text (byte 0xff)",
        ),
        (b"# \xff\n" + home_bytes(), "line 1: not UTF-8 text (byte 0xff)"),
    ],
)
def test_non_utf8_config_names_the_line(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "home.toml"
    path.write_bytes(data)
    assert expected in config_error(path)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "home.toml"
    path.write_bytes(b"\xef\xbb\xbf" + home_bytes())
    assert load_config(path).chargers[0].device_id == "YOUR_DEVICE_ID"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "enable_delay_s = 60.0        #",
            "enable_delay_s = inf        #",
            "policy.solar_only.enable_delay_s: must be a finite number (got inf)",
        ),
        (
            "main_fuse_w = 5750.0",
            "main_fuse_w = inf",
            "chargers[0].limits.main_fuse_w: must be a finite number (got inf)",
        ),
        ("latitude = 47.05", "latitude = nan", "site.latitude: must be a finite number (got nan)"),
        (
            "max_current_a = 16 ",
            "max_current_a = -inf ",
            "chargers[0].limits.max_current_a: must be a finite number (got -inf)",
        ),
    ],
)
def test_non_finite_numbers_are_refused(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = tmp_path / "home.toml"
    path.write_bytes(home_bytes(old, new))
    assert config_error(path) == expected


def test_a_fuse_below_the_minimum_charging_power_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "home.toml"
    path.write_bytes(home_bytes("main_fuse_w = 5750.0", "main_fuse_w = 1000.0"))
    message = config_error(path)
    assert message.startswith("chargers[0].limits: main_fuse_w (1000 W) is below the minimum")
    assert "(1380 W" in message


def test_limits_built_in_code_refuse_a_fuse_below_the_minimum_too() -> None:
    # The check lives on ChargerLimits, so a backtest built without a config file gets it.
    from optimizer.limits import ChargerLimits

    with pytest.raises(ValueError, match=r"main_fuse_w \(4000 W\) is below .*\(4140 W"):
        ChargerLimits(phases=3, main_fuse_w=4000.0)
    assert ChargerLimits(phases=3, main_fuse_w=4140.0).main_fuse_w == 4140.0


def test_a_single_chargers_table_asks_for_an_array_of_tables(tmp_path: Path) -> None:
    path = tmp_path / "home.toml"
    path.write_bytes(home_bytes("\n[[chargers]]\n", "\n[chargers]\n"))
    assert config_error(path) == (
        "chargers: must be an array of tables [[chargers]], not one table [chargers]"
    )


def test_a_value_named_by_the_message_is_not_repeated(tmp_path: Path) -> None:
    path = tmp_path / "home.toml"
    path.write_bytes(home_bytes('timezone = "Europe/Vienna"', 'timezone = "Europe/Atlantis"'))
    assert config_error(path) == "site.timezone: unknown time zone 'Europe/Atlantis'"


# ----- data files -------------------------------------------------------------------------


def input_error(path: Path, loader: object = load_pv) -> str:
    with pytest.raises(InputError) as info:
        loader(path)  # type: ignore[operator]
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message.removeprefix(str(path))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"timestamp,pv_w\n2024-06-01 00:00,\xff\n", ": not UTF-8 text (byte 0xff)"),
        (
            b"timestamp,pv_w\n2024-06-01 00:00,1\n2024-06-01 00:01,1,2,3\n",
            ": not a valid CSV table: Expected 2 fields in line 3, saw 4",
        ),
        (b'timestamp,pv_w\n"2024-06-01 00:00,1\n', ": not a valid CSV table: EOF inside string"),
        (b"timestamp,pv_w,PV_W\n2024-06-01 00:00,1,2\n", ", row 1: column 'pv_w' appears twice"),
        (b"timestamp,pv_w,pv_w\n2024-06-01 00:00,1,2\n", ", row 1: column 'pv_w' appears twice"),
        (
            b"timestamp,pv_w\n2024-06-01 00:00,1\n2024-06-01 00:01,1e12\n",
            ", row 3, column 'pv_w': value 1e+12 is above the plausible maximum 1e+06",
        ),
        (
            b"timestamp,poa_w_m2\n2024-06-01 00:00,5000\n",
            ", row 2, column 'poa_w_m2': value 5000 is above the plausible maximum 2000",
        ),
    ],
)
def test_unreadable_pv_files_name_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "pv.csv"
    path.write_bytes(content)
    assert input_error(path).startswith(expected)


SESSION = "arrival,departure,energy_kwh,max_current_a\n2024-06-01 08:00,2024-06-01 17:00,{},{}\n"


def test_a_plausible_session_loads(tmp_path: Path) -> None:
    path = tmp_path / "sessions.csv"
    path.write_text(SESSION.format(300, 80))
    assert load_sessions(path)["energy_kwh"].tolist() == [300.0]


@pytest.mark.parametrize(
    ("energy", "current", "expected"),
    [
        ("1e9", "16", "row 2, column 'energy_kwh': value 1e+09 is above the plausible maximum 300"),
        ("10", "100", "row 2, column 'max_current_a': value 100 is above the plausible maximum 80"),
    ],
)
def test_implausible_sessions_name_file_row_and_column(
    tmp_path: Path, energy: str, current: str, expected: str
) -> None:
    path = tmp_path / "sessions.csv"
    path.write_text(SESSION.format(energy, current))
    assert input_error(path, load_sessions) == f", {expected}"


# ----- backtest command -------------------------------------------------------------------

runner = CliRunner()


def one_line_error(args: list[str], code: int = 2) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("error: ")


def write_series(path: Path, column: str, start: str, hours: int = 48) -> Path:
    index = pd.date_range(start, periods=hours * 60, freq="min")
    frame = pd.DataFrame({"timestamp": index.strftime("%Y-%m-%d %H:%M"), column: 100.0})
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    pv = write_series(tmp_path / "pv.csv", "pv_w", "2026-06-01")
    load = write_series(tmp_path / "load.csv", "house_w", "2026-06-01")
    return ["backtest", "--pv", str(pv), "--load", str(load), "--tz", "UTC", "--json"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--start", "2026-13-01"], "--start '2026-13-01': not a date YYYY-MM-DD"),
        (["--start", "tomorrow"], "--start 'tomorrow': not a date YYYY-MM-DD"),
        (["--lat", "95"], "--lat: must be <= 90 (got 95.0)"),
        (["--kwp", "-1"], "--kwp: must be > 0 (got -1.0)"),
        (["--tz", "Mars/Base"], "--tz: unknown time zone 'Mars/Base'"),
        (["--start", "2020-01-01", "--days", "1"], "--start/--days: the window 2020-01-01"),
    ],
)
def test_backtest_arguments_are_named(files: list[str], extra: list[str], expected: str) -> None:
    assert one_line_error(files + extra).startswith(expected)


def test_backtest_refuses_an_output_file_before_running(files: list[str], tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x")
    message = one_line_error([*files, "--output", str(taken)])
    assert message == f"--output {taken}: exists and is not a directory"
    assert taken.read_text() == "x"


def test_backtest_names_both_files_when_they_do_not_overlap(
    files: list[str], tmp_path: Path
) -> None:
    other = write_series(tmp_path / "other.csv", "house_w", "2027-06-01")
    message = one_line_error([*files[:3], "--load", str(other), *files[5:]])
    assert message.endswith(f"{other} covers 2027-06-01 00:00:00+00:00 .. "
                            "2027-06-02 23:59:00+00:00 (UTC): no time in common")  # fmt: skip


def test_backtest_names_a_phase_count_the_world_cannot_simulate(
    files: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "home.toml"
    config.write_bytes(home_bytes("phases = 1 ", "phases = 2 "))
    message = one_line_error([*files, "--config", str(config)])
    assert (
        message == f"{config}: chargers[0].limits.phases: backtests simulate 1 or 3 phases (got 2)"
    )


@pytest.mark.parametrize(("option", "value"), [("--seed", "-1"), ("--days", "99999999999")])
def test_backtest_out_of_range_numbers_are_usage_errors(
    files: list[str], option: str, value: str
) -> None:
    result = runner.invoke(app, [*files, option, value])
    assert result.exit_code == 2 and option in result.output


# ----- forecast command -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--start", "9999-12-31T23:00"], "--start: year 9999 is outside 1900..2200"),
        (["--plot", "{tmp}/out.xyz"], "--plot {tmp}/out.xyz: unknown image format 'xyz'; use one"),
        (["--plot", "{tmp}"], "--plot {tmp}: is a directory; give a file name"),
    ],
)
def test_forecast_show_arguments_are_named(tmp_path: Path, extra: list[str], expected: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    message = one_line_error(["forecast", "show", "--config", str(HOME), "--hours", "1", *args])
    assert message.startswith(expected.replace("{tmp}", str(tmp_path)))


def test_forecast_show_reads_a_non_utf8_config_as_one_line(tmp_path: Path) -> None:
    config = tmp_path / "home.toml"
    config.write_bytes(b"# \xff\n" + home_bytes())
    message = one_line_error(["forecast", "show", "--config", str(config)])
    assert message == f"{config}: line 1: not UTF-8 text (byte 0xff); save the file as UTF-8"


def test_forecast_evaluate_prints_null_for_horizons_without_samples(tmp_path: Path) -> None:
    pv = tmp_path / "night.csv"
    pv.write_text("timestamp,pv_w\n2024-06-01 00:00,0\n2024-06-01 00:01,0\n2024-06-01 00:02,0\n")
    result = runner.invoke(
        app, ["forecast", "evaluate", "--pv", str(pv), "--lat", "47", "--lon", "15",
              "--kwp", "8", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["mae_w"]["5"]["forecast"] is None


# ----- through the console script: usage errors are one line ------------------------------


def main_error(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
               code: int = 2) -> str:  # fmt: skip
    """Run the `v2c-solar` entry point with `args`; its one stderr line (no 'error: ')."""
    from optimizer.cli.main import main

    monkeypatch.setattr("sys.argv", ["v2c-solar", *args])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    assert info.value.code == code, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.out + captured.err
    return lines[0].removeprefix("error: ")


@pytest.mark.parametrize("command", [["demo"], ["simulator", "serve"]])
def test_a_negative_seed_is_a_usage_error(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    message = main_error([*command, "--seed", "-1"], capsys, monkeypatch)
    assert "'--seed'" in message and "greater than or equal to 0" in message


def test_simulator_serve_names_a_host_it_cannot_bind(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    message = main_error(["simulator", "serve", "--host", "999.1.1.1"], capsys, monkeypatch)
    assert message.startswith("--host 999.1.1.1: cannot bind (")


def test_simulator_serve_refuses_a_port_in_use_before_the_banner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = main_error(["simulator", "serve", "--port", str(port)], capsys, monkeypatch)
    assert message == f"--port {port}: already in use"


def test_start_simulator_raises_bind_error_and_still_picks_free_ports() -> None:
    from adapters.simulator.server import BindError, SimulatorConfig, start_simulator
    from adapters.simulator.world import World, default_scenario

    config = SimulatorConfig(api_keys=("k",))  # type: ignore[arg-type]  # wrapped in SecretStr
    with start_simulator(World(default_scenario(), seed=1), config) as running:
        assert running.port > 0
        with pytest.raises(BindError, match=rf"^port {running.port}: already in use$"):
            start_simulator(World(default_scenario(), seed=1), config, port=running.port)


# ----- forecast evaluate --pv: the backtest's validated loader ---------------------------


def _pv_parquet(path: Path) -> None:
    index = pd.date_range("2024-06-01 10:00", periods=3, freq="min")
    pd.DataFrame({"timestamp": index, "pv_w": [True, False, True]}).to_parquet(path)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("text.csv", "10:00,100\n10:01,abc\n10:02,100\n", "row 3, column 'pv_w': not a number"),
        ("dup.csv", "10:00,100\n10:00,100\n10:02,100\n", "row 3, column 'timestamp': duplicate"),
        ("huge.csv", "10:00,100\n10:01,1e300\n10:02,100\n", "above the plausible maximum"),
        ("pv.xlsx", "10:00,100\n10:01,100\n", "unknown extension '.xlsx'"),
        ("bool.parquet", None, "row 1, column 'pv_w': not a number: 'True'"),
        ("ghi.csv", None, "forecast evaluate needs column pv_w (AC power, W), got ghi_w_m2"),
    ],
)
def test_forecast_evaluate_refuses_what_the_backtest_refuses(
    tmp_path: Path, name: str, content: str | None, expected: str
) -> None:
    path = tmp_path / name
    if name.endswith(".parquet"):
        _pv_parquet(path)
    elif content is None:
        path.write_text("timestamp,ghi_w_m2\n2024-06-01 10:00,100\n2024-06-01 10:01,100\n")
    else:
        lines = [f"2024-06-01 {line}" for line in content.splitlines()]
        path.write_text(PV_HEADER + "\n".join(lines) + "\n")
    args = ["forecast", "evaluate", "--pv", str(path), "--lat", "47", "--lon", "15", "--kwp", "8"]
    message = one_line_error(args)
    assert message.startswith(str(path)) and expected in message


def test_forecast_evaluate_reads_naive_times_in_the_tz_option(tmp_path: Path) -> None:
    from optimizer.cli.forecast import read_pv_file

    path = tmp_path / "pv.csv"
    path.write_text(PV_HEADER + "2024-06-01 10:00,100\n2024-06-01 10:01,200\n")
    series = read_pv_file(path, "Europe/Vienna")
    assert series.index[0] == pd.Timestamp("2024-06-01 08:00", tz="UTC")
    assert series.tolist() == [100.0, 200.0]


# ----- sessions and budget: the same --db, the same answers -------------------------------


@pytest.mark.parametrize("command", [["sessions"], ["budget", "--config", str(HOME)]])
@pytest.mark.parametrize(
    ("db", "code", "expected"),
    [
        ("notaurl", 2, "malformed database URL 'notaurl'"),
        ("sqlite:///{tmp}", 2, "--db sqlite:///{tmp}: {tmp} is a directory, not a database file"),
        ("sqlite:///{tmp}/no/x.db", 2, "--db sqlite:///{tmp}/no/x.db: directory {tmp}/no does"),
        ("sqlite:///{tmp}/text.db", 1, "cannot open database sqlite:///{tmp}/text.db: file is"),
    ],
)
def test_sessions_and_budget_answer_a_bad_db_alike(
    tmp_path: Path, command: list[str], db: str, code: int, expected: str
) -> None:
    (tmp_path / "text.db").write_text("not a database\n" * 100)
    url = db.replace("{tmp}", str(tmp_path))
    message = one_line_error([*command, "--db", url], code)
    assert message.startswith(expected.replace("{tmp}", str(tmp_path)))


# ----- help texts: rich must not eat [table] names as markup -------------------------------


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["run"], "(default: [storage] url)"),
        (["budget"], "(default: [storage] url)"),
        (["forecast", "evaluate"], "TOML config with a [site] table"),
        (["forecast", "show"], "TOML config with a [site] table"),
    ],
)
def test_help_shows_config_table_names(command: list[str], shown: str) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert shown in result.stdout


def _all_options() -> list[tuple[str, str]]:
    import click
    import typer.main

    found: list[tuple[str, str]] = []

    def walk(command: click.Command, path: str) -> None:
        found.extend(
            (f"{path} {p.name}", p.help or "") for p in command.params if hasattr(p, "help")
        )
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "v2c-solar")
    return found


def test_every_bracket_in_an_option_help_is_escaped_for_rich() -> None:
    import re

    options = _all_options()
    assert any("[storage]" in text for _, text in options)  # the walk reaches the commands
    unescaped = [(where, text) for where, text in options if re.search(r"(?<!\\)\[[a-z]", text)]
    assert unescaped == []
