"""`[mqtt]` and `--mqtt`: the broker's address, TLS and prefixes; the password never shown."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from adapters.mqtt.config import MqttConfig, MqttSettings, MqttUrlError, parse_mqtt_url
from optimizer.config import ConfigError, parse_config

HOME = Path(__file__).resolve().parents[1] / "config" / "home.toml"
SECRET = "s3cr3t-Pw"


def with_mqtt(section: dict[str, Any]) -> dict[str, Any]:
    """The shipped config with an `[mqtt]` section."""
    return tomllib.loads(HOME.read_text(encoding="utf-8")) | {"mqtt": section}


def config_error(section: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(with_mqtt(section), "home.toml")
    message = str(info.value)
    assert "\n" not in message and SECRET not in message
    return message.removeprefix("home.toml: ")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1884", MqttSettings("127.0.0.1", 1884)),
        ("mqtt://broker.lan", MqttSettings("broker.lan", 1883)),
        ("mqtts://broker.lan", MqttSettings("broker.lan", 8883, tls=True)),
        (
            f"mqtt://ha:{SECRET}@broker.lan:1999",
            MqttSettings("broker.lan", 1999, username="ha", password=SECRET),
        ),
        ("mqtt://ha@broker.lan", MqttSettings("broker.lan", username="ha")),
        ("mqtt://h%40a:p%3Aw@h", MqttSettings("h", username="h@a", password="p:w")),
    ],
)
def test_urls_parse(url: str, expected: MqttSettings) -> None:
    assert parse_mqtt_url(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"http://u:{SECRET}@h:1883", "scheme must be mqtt:// or mqtts://"),
        (f"mqtt://u:{SECRET}@h:70000", "the port must be a number in 1..65535"),
        (f"mqtt://u:{SECRET}@h:0", "the port must be in 1..65535"),
        (f"mqtt://u:{SECRET}@:1883", "no host"),
        (f"mqtt://u:{SECRET}@h:1883/topic", "only mqtt://[user[:password]@]host[:port]"),
        ("h:1883", "scheme must be"),
    ],
)
def test_bad_urls_are_one_line_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(MqttUrlError) as info:
        parse_mqtt_url(url)
    assert problem in str(info.value)
    assert SECRET not in str(info.value) and "\n" not in str(info.value)


def test_the_password_is_in_no_repr() -> None:
    settings = parse_mqtt_url(f"mqtt://ha:{SECRET}@broker.lan")
    assert settings.password == SECRET
    assert SECRET not in repr(settings) and SECRET not in settings.where
    config = parse_config(with_mqtt({"url": f"mqtt://ha:{SECRET}@h"})).mqtt
    assert config is not None and SECRET not in repr(config)
    config = parse_config(with_mqtt({"host": "h", "username": "ha", "password": SECRET})).mqtt
    assert config is not None and SECRET not in repr(config) and SECRET not in str(config)
    assert config.settings().password == SECRET


def test_a_section_with_host_and_password_env() -> None:
    config = parse_config(
        with_mqtt(
            {
                "host": "broker.lan",
                "username": "ha",
                "password_env": "MQTT_PW",
                "tls": True,
                "ca_file": "/etc/ca.pem",
                "topic_prefix": "home/ev",
                "discovery_prefix": "ha",
                "min_interval_s": 0.5,
            }
        )
    ).mqtt
    assert config is not None
    settings = config.settings(environ={"MQTT_PW": SECRET})
    assert settings == MqttSettings(
        "broker.lan",
        8883,
        username="ha",
        password=SECRET,
        tls=True,
        ca_file=Path("/etc/ca.pem"),
        topic_prefix="home/ev",
        discovery_prefix="ha",
        min_interval_s=0.5,
    )
    with pytest.raises(MqttUrlError, match=r"mqtt\.password_env: the environment variable MQTT_PW"):
        config.settings(environ={})


def test_the_option_replaces_the_sections_broker_and_keeps_its_prefixes() -> None:
    config = MqttConfig(host="broker.lan", topic_prefix="ev")
    settings = config.settings("mqtt://127.0.0.1:1999")
    assert (settings.host, settings.port, settings.topic_prefix) == ("127.0.0.1", 1999, "ev")


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({}, "mqtt: give either url or host"),
        ({"url": "mqtt://h", "host": "h"}, "mqtt: give either url or host"),
        ({"url": f"mqtt://u:{SECRET}@h", "port": 1}, "mqtt: url already says where: drop port"),
        ({"url": f"mqtt://u:{SECRET}@h:x"}, "mqtt: url: 'mqtt://u:***@h:x': the port must"),
        ({"host": "h", "password": SECRET, "password_env": "X"}, "password or password_env"),
        ({"host": "h", "password": 1234}, "mqtt: password: must be a string"),
        ({"host": "h", "port": 0}, "mqtt.port: must be >= 1 (got 0)"),
        ({"host": "h", "topic_prefix": "a/+"}, "mqtt: topic_prefix: topic levels without"),
        ({"host": "h", "discovery_prefix": "ha/"}, "mqtt: discovery_prefix: topic levels"),
        ({"host": "h", "ca_file": "/ca.pem"}, "mqtt: ca_file needs tls = true"),
        ({"host": "h", "min_interval_s": -1}, "mqtt.min_interval_s: must be >= 0 (got -1)"),
        ({"host": "h", "user": "x"}, "unknown key 'user' in [mqtt]"),
    ],
)
def test_bad_sections_are_one_line_naming_the_key(section: dict[str, Any], problem: str) -> None:
    assert problem in config_error(section)


def test_the_shipped_config_documents_the_section_commented_out() -> None:
    lines = HOME.read_text(encoding="utf-8").splitlines()
    start = lines.index("# [mqtt]")
    block = [line.removeprefix("# ") for line in lines[start:] if line.startswith("# ")]
    documented = tomllib.loads("\n".join(block))["mqtt"]
    assert set(documented) <= set(MqttConfig.model_fields)
    # what the comments show is a valid section (ca_file goes with tls)
    assert (
        MqttConfig.model_validate(documented | {"tls": True})
        .settings(environ={"V2C_SOLAR_MQTT_PASSWORD": SECRET})
        .password
        == SECRET
    )
