"""The fault options of `simulator serve` and `demo`: one declaration, the same errors."""

from __future__ import annotations

import re

import pytest

WINDOW = "2026-06-21T10:00:00Z/2026-06-21T16:00:00Z"


def usage_error(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> str:
    """The one stderr line of a usage error (exit 2) of the `v2c-solar ARGS` entry point."""
    from optimizer.cli.main import main

    monkeypatch.setattr("sys.argv", ["v2c-solar", *args])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    assert info.value.code == 2, captured.err
    assert "Traceback" not in captured.out + captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def _without_command(line: str) -> str:
    return re.sub(r"v2c-solar (simulator serve|demo)\b", "v2c-solar COMMAND", line)


@pytest.mark.parametrize(
    ("args", "option", "why"),
    [
        (["--error-rate", "1.5"], "--error-rate", "less than or equal to 1"),
        (["--drop-rate", "-0.1"], "--drop-rate", "greater than or equal to 0"),
        (["--timeout-s", "-1"], "--timeout-s", "greater than or equal to 0"),
        (["--latency", "fast"], "--latency", "valid number"),
        (["--outage-start", "2026-06-21T10:00:00Z"], "--outage-end", "given together"),
        (["--outage-start", "noon", "--outage-end", "2026-06-21T10:00Z"], "--outage-start", "ISO"),
        (
            ["--outage-start", "2026-06-21T10:00Z", "--outage-end", "2026-06-21T09:00Z"],
            "--outage-end",
            "must be after",
        ),
        (["--revoke-keys-at", "2026-06-21T10:00"], "--revoke-keys-at", "UTC offset or Z"),
        (["--throttle-start", "2026-06-21T10:00:00Z"], "--throttle-end", "given together"),
        (["--throttle-end", "10:00"], "--throttle-end", "ISO"),
        (["--error-rate", "0.6", "--timeout-rate", "0.6"], "", "rates add up to 1.2"),
        (["--offline", "SIM0001"], "--offline", "DEVICE_ID@START/END"),
        (["--offline", f"NOPE@{WINDOW}"], "--offline", "unknown devices: NOPE"),
    ],
)
def test_bad_fault_values_are_the_same_one_line_error_in_serve_and_demo(
    args: list[str],
    option: str,
    why: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve = usage_error(["simulator", "serve", "--port", "0", *args], capsys, monkeypatch)
    demo = usage_error(["demo", "--hours", "1", *args], capsys, monkeypatch)
    assert _without_command(demo) == _without_command(serve)
    assert option in serve and why in serve, serve


def test_fault_options_are_declared_once() -> None:
    """Both commands take the same fault options, with the same help."""
    import typer.main

    from optimizer.cli.daemon import demo
    from optimizer.cli.simulator import serve

    def fault_params(command: object) -> dict[str, str | None]:
        info = typer.main.get_command_from_info(
            typer.models.CommandInfo(callback=command),  # type: ignore[arg-type]
            pretty_exceptions_short=True,
            rich_markup_mode=None,
        )
        return {
            p.name or "": getattr(p, "help", None)
            for p in info.params
            if getattr(p, "rich_help_panel", None) is not None
        }

    serve_faults = fault_params(serve)
    assert set(serve_faults) >= {"error_rate", "revoke_keys_at", "offline", "throttle_start"}
    assert fault_params(demo) == serve_faults


def test_throttle_options_make_the_throttle_window() -> None:
    """`--throttle-start/--throttle-end` is the simulator's throttle window,
    `--no-throttle-retry-after` its 429s without `Retry-After`."""
    from datetime import UTC, datetime

    from optimizer.cli.fault_options import fault_config

    faults = fault_config(
        throttle_start="2026-06-21T10:00:00Z",
        throttle_end="2026-06-21T10:30:00+00:00",
        throttle_retry_after=False,
    )
    assert faults.throttle_start == datetime(2026, 6, 21, 10, tzinfo=UTC)
    assert faults.throttle_end == datetime(2026, 6, 21, 10, 30, tzinfo=UTC)
    assert faults.throttle_retry_after is False
