"""Small JSON files written whole or not at all, for the providers' disk caches.

A cache must never leave half a file behind (a crash mid-write, a full disk): the
text goes to `<name>.partial` first and replaces the file in one `os.replace`. A
disk that cannot be written is logged once per writer; the caller keeps its data
in memory.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pydantic

log = logging.getLogger(__name__)


class JsonFileWriter:
    """Writes JSON files atomically; logs the first failure only (`what` names the data)."""

    def __init__(self, what: str) -> None:
        self._what = what
        self.failed = False

    def write(self, path: Path, data: Any) -> None:
        """`data` as JSON at `path`, whole or not at all; never raises `OSError`."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(path.suffix + ".partial")
            partial.write_text(json.dumps(data), encoding="utf-8")
            os.replace(partial, path)
        except OSError as exc:
            if not self.failed:
                log.warning(
                    "%s: cannot write the cache %s (%s); keeping them in memory",
                    self._what,
                    path.parent,
                    exc.strerror or exc,
                )
            self.failed = True


def first_error(exc: pydantic.ValidationError) -> str:
    """The first validation error of an answer on one line: `where: what`."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "answer"
    return f"{where}: {first['msg']}"
