"""The `--db URL` argument of `sessions`, `budget`, `run` and `demo`: checked before opening;
the `--account NAME` of `sessions` and `budget`.

SQLAlchemy reports a directory or a missing parent directory as a vague
"unable to open database file" only once it connects; these checks name the
problem in one line first, the same way in every command.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names; None for another backend, in-memory or a malformed URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database)


def database_path_problem(url: str, *, create: bool) -> str | None:
    """What makes an SQLite `url` unusable before opening it, as `--db URL: ...`; else None.

    A directory, a directory that does not exist, one we cannot write to when
    the database is to be created (`create`), a file we cannot read. The
    caller exits 2: each is a wrong `--db` argument, not a runtime failure.
    Other backends are checked by the driver when they connect.
    """
    from adapters.storage.engine import redact_url

    path = sqlite_file(url)
    if path is None:
        return None
    if path.is_dir():
        problem = f"{path} is a directory, not a database file"
    elif not path.parent.is_dir():
        problem = f"directory {path.parent} does not exist"
    elif create and not path.exists() and not os.access(path.parent, os.W_OK | os.X_OK):
        problem = f"directory {path.parent} is not writable"
    elif path.exists() and not os.access(path, os.R_OK):
        problem = f"{path} is not readable"
    else:
        return None
    return f"--db {redact_url(url)}: {problem}"


AccountOption = Annotated[
    str | None,
    typer.Option(
        "--account",
        help="Only this account's rows (a fleet's \\[\\[accounts]] name; a single home's is "
        "'default'). Default: every account.",
    ),
]
"""`--account` of `sessions` and `budget`."""


def check_account(name: str | None) -> str | None:
    """`name` if it can be an account's name (None passes); ValueError naming `--account`."""
    import re

    from optimizer.accounts import ACCOUNT_NAME

    if name is not None and not re.fullmatch(ACCOUNT_NAME, name):
        raise ValueError(f"--account {name!r}: must match {ACCOUNT_NAME.pattern}")
    return name
