"""Every command's help shows the config sections it names (`[prices]`, `[[accounts]]`).

typer lays help out with rich, whose markup reads an unescaped `[name]` as a style tag
and drops it (`[[accounts]]` came out as `[]`); help texts escape them as `\\[`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from optimizer.cli.lazy import LazySubApp
from optimizer.cli.main import app

SECTION = re.compile(r"\\?\[\\?\[?[a-z_.]+\]\]?")
"""A config section or key in brackets, escaped or not (`[prices]`, `\\[\\[accounts]]`)."""


def _subcommands(group: Any) -> list[tuple[str, Any]]:
    """A group's commands by name (typer's vendored click: a group has `list_commands`)."""
    if not hasattr(group, "list_commands"):
        return []
    ctx = group.context_class(group)
    return [(name, group.get_command(ctx, name)) for name in group.list_commands(ctx)]


def _commands() -> Iterator[tuple[list[str], Any]]:
    root = get_command(app)
    yield [], root
    for name, command in _subcommands(root):
        if isinstance(command, LazySubApp):  # `device`, `prices`...: built when invoked
            command = command.load(root)
        yield [name], command
        for sub, found in _subcommands(command):
            yield [name, sub], found


def _written(command: Any) -> Counter[str]:
    """The bracketed names in a command's help texts and its commands' short helps, as a
    reader should see them, each with how often it is written."""
    texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
    texts += [sub.get_short_help_str(200) for _, sub in _subcommands(command)]
    return Counter(m.group(0).replace("\\", "") for t in texts for m in SECTION.finditer(t))


@pytest.mark.parametrize(
    ("path", "command"),
    list(_commands()),
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_help_shows_the_sections_it_names(path: list[str], command: Any) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    written = _written(command)
    missing = [name for name, n in written.items() if result.output.count(name) < n]
    assert not missing, f"v2c-solar {' '.join(path)} --help drops {missing}"
