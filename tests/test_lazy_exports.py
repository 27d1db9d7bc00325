"""Packages that import their names on first access: every name resolves, none loads early."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from optimizer.lazy_exports import type_checking_imports

LAZY_PACKAGES = (
    "adapters.simulator.server",
    "adapters.simulator.world",
    "adapters.storage",
    "optimizer.daemon",
    "optimizer.forecast",
)


def test_only_from_imports_under_type_checking_count() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from a import eager\n"
        "if TYPE_CHECKING:\n"
        "    from pkg.mod import One, two as Two\n"
        "    from .rel import skipped\n"
        "    import plain\n"
        "if other:\n"
        "    from b import ignored\n"
    )
    assert type_checking_imports(source) == {"One": "pkg.mod", "Two": "pkg.mod"}


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_public_name_resolves(name: str) -> None:
    package = importlib.import_module(name)
    for exported in package.__all__:
        assert getattr(package, exported) is not None, exported
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        package.nope  # noqa: B018


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("optimizer.daemon.reconcile", "pvlib"),
        ("optimizer.forecast.calibration", "pvlib"),
        ("adapters.simulator.world.scenario", "pvlib"),
        ("adapters.simulator.server.config", "uvicorn"),
        ("adapters.storage.errors", "sqlalchemy"),
    ],
)
def test_a_light_submodule_does_not_load_its_siblings(module: str, absent: str) -> None:
    code = f"import sys, {module}; print({absent!r} in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "False"
