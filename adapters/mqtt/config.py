"""Where the broker is and how to log in: the `[mqtt]` section and the `--mqtt` URL.

Both end as one `MqttSettings`. The URL form is `mqtt://[user[:password]@]host[:port]`
(`mqtts://` for TLS; ports default to 1883 and 8883). In the config file the password
is best named by an environment variable (`password_env`); a password written in the
file is kept as a `SecretStr`. The password never appears in a repr, a log line or
an error message: errors about a URL show it with the password replaced by `***`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import SplitResult, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

PLAIN_PORT = 1883
TLS_PORT = 8883
SCHEMES = {"mqtt": False, "mqtts": True}
"""URL scheme -> TLS."""

DEFAULT_TOPIC_PREFIX = "v2c-solar"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
DEFAULT_MIN_INTERVAL_S = 2.0
"""The least wall time between two messages on one state topic (s): a demo at
2880x changes the status every few milliseconds; a broker needs no more."""

_TOPIC_PREFIX = re.compile(r"^[^/+#\x00]+(/[^/+#\x00]+)*$")
"""One or more non-empty topic levels without wildcards."""


class MqttUrlError(ValueError):
    """A bad `--mqtt` URL or `[mqtt]` section; the message is one line without the password."""


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Everything the bridge needs to reach the broker and name its topics."""

    host: str
    port: int = PLAIN_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None
    topic_prefix: str = DEFAULT_TOPIC_PREFIX
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX
    min_interval_s: float = DEFAULT_MIN_INTERVAL_S

    @property
    def where(self) -> str:
        """`mqtt://user@host:port` for logs: never the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def redact_url(url: str) -> str:
    """`url` with the password (between `user:` and `@`) replaced by `***`."""
    return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)


def parse_mqtt_url(url: str, **overrides: Any) -> MqttSettings:
    """`mqtt://[user[:password]@]host[:port]` (or `mqtts://`) -> `MqttSettings`.

    `overrides` set the other fields (prefixes, TLS CA file). Raises `MqttUrlError`
    naming what is wrong, with the URL shown without its password.
    """
    shown = redact_url(url)
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES:
        raise MqttUrlError(f"{shown!r}: scheme must be mqtt:// or mqtts://")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MqttUrlError(f"{shown!r}: only mqtt://[user[:password]@]host[:port] is understood")
    tls = SCHEMES[parts.scheme]
    return MqttSettings(
        host=_host(parts, shown),
        port=_port(parts, shown, tls),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
        **overrides,
    )


def _host(parts: SplitResult, shown: str) -> str:
    if not parts.hostname:
        raise MqttUrlError(f"{shown!r}: no host")
    return parts.hostname


def _port(parts: SplitResult, shown: str, tls: bool) -> int:
    try:
        port = parts.port
    except ValueError:
        raise MqttUrlError(f"{shown!r}: the port must be a number in 1..65535") from None
    if port == 0:
        raise MqttUrlError(f"{shown!r}: the port must be in 1..65535")
    return port or (TLS_PORT if tls else PLAIN_PORT)


class MqttConfig(BaseModel):
    """`[mqtt]`: the broker (as `url`, or `host`/`port`/`username`/`tls`) and the topic prefixes.

    Either `url` or `host`. The password: `password_env` names an environment variable
    that holds it (preferred), or `password` (kept secret, never shown).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: SecretStr | None = Field(default=None, description="mqtt://[user@]host[:port], mqtts://")
    """Secret as a whole: it may hold the password."""
    host: str | None = Field(default=None, min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    password_env: str | None = Field(default=None, min_length=1)
    tls: bool = False
    ca_file: Path | None = None
    topic_prefix: str = DEFAULT_TOPIC_PREFIX
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX
    min_interval_s: float = Field(default=DEFAULT_MIN_INTERVAL_S, ge=0.0, le=3600.0)

    @model_validator(mode="before")
    @classmethod
    def _password_is_text(cls, data: Any) -> Any:
        # Checked here so that a bad password is never echoed back in an error.
        if isinstance(data, Mapping) and not isinstance(data.get("password", ""), str):
            raise ValueError("password: must be a string")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # Errors of a model validator name no input: a URL with a password is never echoed.
        if (self.url is None) == (self.host is None):
            raise ValueError("give either url or host")
        if self.url is not None:
            keys = ("port", "username", "password", "password_env", "tls")
            given = [k for k in keys if k in self.model_fields_set]
            if given:
                raise ValueError(f"url already says where: drop {', '.join(given)}")
            try:
                parse_mqtt_url(self.url.get_secret_value())
            except MqttUrlError as exc:
                raise ValueError(f"url: {exc}") from None
        if self.password is not None and self.password_env is not None:
            raise ValueError("give password or password_env, not both")
        for key in ("topic_prefix", "discovery_prefix"):
            if not _TOPIC_PREFIX.match(getattr(self, key)):
                raise ValueError(f"{key}: topic levels without '+', '#' or empty levels")
        if self.ca_file is not None and not self._tls:
            raise ValueError("ca_file needs tls = true (or an mqtts:// url)")
        return self

    @property
    def _tls(self) -> bool:
        if self.url is not None:
            return self.url.get_secret_value().strip().startswith("mqtts:")
        return self.tls

    def settings(
        self, url: str | None = None, environ: Mapping[str, str] = os.environ
    ) -> MqttSettings:
        """The resolved settings; `url` (the `--mqtt` option) replaces the broker's address.

        Raises `MqttUrlError` for a bad `url` or a `password_env` that is not set.
        """
        common: dict[str, Any] = {
            "ca_file": self.ca_file,
            "topic_prefix": self.topic_prefix,
            "discovery_prefix": self.discovery_prefix,
            "min_interval_s": self.min_interval_s,
        }
        if url is not None:
            return parse_mqtt_url(url, **common)
        if self.url is not None:
            return parse_mqtt_url(self.url.get_secret_value(), **common)
        assert self.host is not None  # checked by _consistent
        return MqttSettings(
            host=self.host,
            port=self.port or (TLS_PORT if self.tls else PLAIN_PORT),
            username=self.username,
            password=self._password(environ),
            tls=self.tls,
            **common,
        )

    def _password(self, environ: Mapping[str, str]) -> str | None:
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_env is None:
            return None
        value = environ.get(self.password_env)
        if not value:
            raise MqttUrlError(
                f"mqtt.password_env: the environment variable {self.password_env} is not set"
            )
        return value


__all__ = [
    "DEFAULT_DISCOVERY_PREFIX",
    "DEFAULT_TOPIC_PREFIX",
    "MqttConfig",
    "MqttSettings",
    "MqttUrlError",
    "parse_mqtt_url",
    "redact_url",
]
