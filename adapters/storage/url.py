"""Where the records go unless told otherwise: plain strings, importable without SQLAlchemy."""

from __future__ import annotations

DEFAULT_URL = "sqlite:///v2c-solar.db"
"""Where the daemon and the CLI keep their records unless told otherwise."""

URL_ENV_VAR = "V2C_SOLAR_DB"
"""Environment variable that overrides `DEFAULT_URL` in the CLI."""
