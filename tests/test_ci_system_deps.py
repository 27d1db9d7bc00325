"""`.ci/system-deps` (run by `make test`): installs mosquitto and chromium only when missing.

Runs the real script with a PATH of stand-ins for dpkg-query, id, apt-get and sudo
that record what they were asked, so every branch is exercised without touching apt.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "system-deps"
PACKAGES = ("mosquitto", "mosquitto-clients", "chromium")
REAL_TOOLS = ("bash", "grep", "env", "cat")


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/bash\n{body}\n")
    path.chmod(0o755)


def _run(
    tmp_path: Path, *, installed: tuple[str, ...], uid: int, sudo: bool, apt: bool = True
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the script on a PATH holding only the stand-ins and the real tools it needs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        assert real is not None, tool
        (bin_dir / tool).symlink_to(real)
    known = " ".join(installed)
    _stub(
        bin_dir,
        "dpkg-query",
        f'for p in {known}; do [ "$p" = "${{@: -1}}" ] && echo "install ok installed" '
        "&& exit 0; done; exit 1",
    )
    _stub(bin_dir, "id", f"echo {uid}")
    if apt:
        _stub(bin_dir, "apt-get", f'echo "apt-get $*" >> {log}')
    if sudo:
        _stub(bin_dir, "sudo", f'echo "sudo" >> {log}; exec "$@"')
    result = subprocess.run(
        [str(bin_dir / "bash"), str(SCRIPT)],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result, log.read_text().splitlines()


def test_nothing_happens_when_every_package_is_installed(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, installed=PACKAGES, uid=1000, sudo=False)
    assert result.returncode == 0, result.stderr
    assert calls == []


def test_root_installs_all_three_when_one_is_missing(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, installed=("mosquitto", "mosquitto-clients"), uid=0, sudo=False)
    assert result.returncode == 0, result.stderr
    assert calls == [
        "apt-get update -q",
        "apt-get install -y -q --no-install-recommends mosquitto mosquitto-clients chromium",
    ]
    assert "installing chromium" in result.stderr


def test_a_user_with_sudo_installs_through_sudo(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, installed=(), uid=1000, sudo=True)
    assert result.returncode == 0, result.stderr
    assert calls[0] == "sudo" and calls[1] == "apt-get update -q"
    assert calls[2] == "sudo" and calls[3].startswith("apt-get install -y")


@pytest.mark.parametrize("apt", [True, False])
def test_no_way_to_install_is_one_clear_line(tmp_path: Path, apt: bool) -> None:
    result, calls = _run(tmp_path, installed=("chromium",), uid=1000, sudo=False, apt=apt)
    assert result.returncode == 1
    assert calls == []
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the tests need mosquitto")
