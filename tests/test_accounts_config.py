"""`[[accounts]]`: a fleet file's accounts, keys from the environment or a file, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.accounts import DEFAULT_ACCOUNT, load_fleet, site_names
from optimizer.config import ConfigError

HOME = """
[site]
latitude = 40.4
longitude = -3.7
timezone = "Europe/Madrid"
arrays = [{{ kwp = 5.0, tilt_deg = 30.0, azimuth_deg = 180.0 }}]

[[chargers]]
device_id = "{device}"
"""

FLEET = """
[storage]
url = "sqlite:///fleet.db"

[[accounts]]
name = "acme"
api_key_env = "ACME_KEY"

[[accounts.sites]]
config = "homes/acme.toml"

[[accounts.sites]]
chargers = [{{ device_id = "INLINE1" }}, {{ device_id = "INLINE2" }}]
budget = {{ reserve = 80 }}
[accounts.sites.site]
latitude = 47.0
longitude = 15.4
arrays = [{{ kwp = 3.0, tilt_deg = 20.0, azimuth_deg = 90.0 }}]

[[accounts]]
name = "{second}"
api_key_file = "secrets/b.key"

[[accounts.sites]]
config = "homes/b.toml"
"""


def _write(tmp_path: Path, fleet: str, *, b_device: str = "B1") -> Path:
    (tmp_path / "homes").mkdir(exist_ok=True)
    (tmp_path / "secrets").mkdir(exist_ok=True)
    (tmp_path / "homes" / "acme.toml").write_text(HOME.format(device="A1"))
    (tmp_path / "homes" / "b.toml").write_text(HOME.format(device=b_device))
    (tmp_path / "secrets" / "b.key").write_text("key-of-b\n")
    path = tmp_path / "fleet.toml"
    path.write_text(fleet)
    return path


def test_a_fleet_file_resolves_accounts_sites_and_keys(tmp_path: Path) -> None:
    fleet = load_fleet(_write(tmp_path, FLEET.format(second="b-2")))
    assert not fleet.single_home
    assert fleet.storage.url == "sqlite:///fleet.db"
    assert [a.name for a in fleet.accounts] == ["acme", "b-2"]
    assert [a.chargers for a in fleet.accounts] == [3, 1]
    acme, b = fleet.resolve({"ACME_KEY": " key-of-acme "})
    assert acme.api_key.get_secret_value() == "key-of-acme"
    assert b.api_key.get_secret_value() == "key-of-b"
    assert [c.device_id for s in acme.sites for c in s.chargers] == ["A1", "INLINE1", "INLINE2"]
    assert acme.sites[1].budget.reserve == 80
    assert "key-of" not in repr(acme) + repr(fleet)


def test_sites_are_named_by_their_site_name_or_their_place(tmp_path: Path) -> None:
    text = FLEET.format(second="b").replace("latitude = 47.0", 'name = "garage"\nlatitude = 47.0')
    acme, b = load_fleet(_write(tmp_path, text)).accounts
    assert site_names(acme.sites) == ("site1", "garage")
    assert site_names(b.sites) == ("site1",)


def test_a_single_home_config_is_the_default_account(tmp_path: Path) -> None:
    path = tmp_path / "home.toml"
    path.write_text(HOME.format(device="H1"))
    fleet = load_fleet(path)
    assert fleet.single_home
    (home,) = fleet.resolve({"V2C_API_KEY": "k"})
    assert home.name == DEFAULT_ACCOUNT
    assert [c.device_id for c in home.sites[0].chargers] == ["H1"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace('name = "acme"', 'name = "Acme"'), "accounts[0].name: must match"),
        (
            lambda t: t.replace('api_key_env = "ACME_KEY"', 'api_key = "secret-in-file"'),
            "accounts[0].api_key: the key never goes in the file",
        ),
        (
            lambda t: t.replace('api_key_file = "secrets/b.key"', ""),
            "accounts[1]: set exactly one of api_key_env and api_key_file",
        ),
        (lambda t: t.replace('name = "b-2"', 'name = "acme"'), "accounts[1].name: 'acme' appears"),
        (lambda t: t.replace("latitude = 47.0", "latitude = 147.0"), "accounts[0].sites[1]: site"),
        (lambda t: t + "\n[site]\nlatitude = 1\n", "unknown key 'site' in the top level"),
        (lambda t: t.replace("[storage]", "[storage]\nbogus = 1"), "unknown key 'bogus'"),
        (
            lambda t: t.replace("latitude = 47.0", 'name = "site1"\nlatitude = 47.0'),
            "accounts[0].sites[1].site.name: 'site1' names two sites of account 'acme'",
        ),
        (
            lambda t: t.replace("latitude = 47.0", 'name = "My Garage"\nlatitude = 47.0'),
            "accounts[0].sites[1]: site.name",
        ),
    ],
)
def test_errors_are_one_line_naming_file_and_key(
    tmp_path: Path, change: object, expected: str
) -> None:
    text = change(FLEET.format(second="b-2"))  # type: ignore[operator]
    with pytest.raises(ConfigError) as info:
        load_fleet(_write(tmp_path, text)).resolve({"ACME_KEY": "k"})
    message = str(info.value)
    assert expected in message and "\n" not in message
    assert message.startswith(str(tmp_path))
    assert "secret-in-file" not in message


def test_a_device_on_two_accounts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="device_id 'A1' is configured twice"):
        load_fleet(_write(tmp_path, FLEET.format(second="b"), b_device="A1"))


def test_an_error_inside_a_site_file_names_that_file(tmp_path: Path) -> None:
    path = _write(tmp_path, FLEET.format(second="b"))
    (tmp_path / "homes" / "b.toml").write_text(HOME.format(device="B1") + "\n[policy]\nname = 1\n")
    with pytest.raises(ConfigError, match=r"homes/b\.toml: policy"):
        load_fleet(path)


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "api_key_env: the variable ACME_KEY is not set"), ({"ACME_KEY": "a b"}, "ASCII")],
)
def test_a_missing_or_bad_key_names_where_it_should_come_from(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    fleet = load_fleet(_write(tmp_path, FLEET.format(second="b")))
    with pytest.raises(ConfigError, match=expected):
        fleet.resolve(env)
    (tmp_path / "secrets" / "b.key").write_text("")
    with pytest.raises(ConfigError, match=r"accounts\[1\]\.api_key_file: .*b\.key is empty"):
        fleet.accounts[1].resolve({})
