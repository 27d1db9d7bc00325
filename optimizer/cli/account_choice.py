"""Which account a command reads or writes: `--account NAME` of `plan`, `target` and `budget`.

A single-home config is one implicit account whose store reads and writes as it always
did (store account None: settings keys unprefixed, so `target/<id>` is the one the
single-home daemon polls). In a fleet file (`[[accounts]]`) every account's store is
`SqlStore.for_account(name)` in the daemon, whose settings are `name:target/<id>`: a
command writing or reading a fleet's target must open its store with that account, or
the fleet daemon's `TargetSync` never sees it. The account is the one `--account`
names, else the one holding `--device-id` (device ids are unique across a fleet file),
else the only one; a fleet of several with neither is a one-line error naming the file
and its accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optimizer.accounts import DEFAULT_ACCOUNT, AccountConfig, FleetConfig, load_fleet
from optimizer.config import AppConfig, ConfigError


@dataclass(frozen=True, slots=True)
class AccountChoice:
    """The chosen account of the config file `config`: `account` is the label its store
    takes (None: a single home's), `sites` its sites, `url` the config's database."""

    config: Path
    account: str | None
    sites: tuple[AppConfig, ...]
    url: str

    @property
    def devices(self) -> list[str]:
        """The account's chargers, in the order of its sites."""
        return [c.device_id for site in self.sites for c in site.chargers]

    def site_of(self, device_id: str) -> AppConfig:
        """The site whose charger `device_id` is (one of `devices`)."""
        return next(site for site in self.sites if _has(site, device_id))


def choose_account(
    config: Path, account: str | None, device_id: str | None = None
) -> AccountChoice:
    """The account of `config` a command works on (see the module doc); `ValueError`
    (one line naming `--account`, `--device-id` or the file) when there is none."""
    try:
        fleet = load_fleet(config)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    if fleet.single_home:
        return _single_home(fleet, config, account, device_id)
    chosen = _fleet_account(fleet, config, account, device_id)
    choice = AccountChoice(config, chosen.name, chosen.sites, fleet.storage.url)
    return _with_device(choice, device_id, f"account {chosen.name!r} of {config}")


def _single_home(
    fleet: FleetConfig, config: Path, account: str | None, device_id: str | None
) -> AccountChoice:
    if account not in (None, DEFAULT_ACCOUNT):
        raise ValueError(
            f"--account: no account {account!r} in {config} (a single home: its account "
            f"is {DEFAULT_ACCOUNT!r})"
        )
    choice = AccountChoice(config, None, fleet.accounts[0].sites, fleet.storage.url)
    return _with_device(choice, device_id, str(config))


def _with_device(choice: AccountChoice, device_id: str | None, where: str) -> AccountChoice:
    """`choice` if `device_id` is None or one of its chargers; else `ValueError` naming
    the charger and `where` it was looked for."""
    if device_id is not None and device_id not in choice.devices:
        raise ValueError(
            f"--device-id: unknown charger {device_id!r} in {where} "
            f"(one of {', '.join(choice.devices)})"
        )
    return choice


def _fleet_account(
    fleet: FleetConfig, config: Path, account: str | None, device_id: str | None
) -> AccountConfig:
    names = ", ".join(a.name for a in fleet.accounts)
    if account is not None:
        try:
            return fleet.account(account)
        except ConfigError:
            raise ValueError(
                f"--account: no account {account!r} in {config} (accounts: {names})"
            ) from None
    if device_id is not None:
        holders = [a for a in fleet.accounts if any(_has(s, device_id) for s in a.sites)]
        if not holders:
            raise ValueError(
                f"--device-id: unknown charger {device_id!r} in {config} (accounts: {names})"
            )
        return holders[0]
    if len(fleet.accounts) > 1:
        raise ValueError(
            f"{config} has {len(fleet.accounts)} accounts: choose one with --account ({names})"
        )
    return fleet.accounts[0]


def _has(site: AppConfig, device_id: str) -> bool:
    return any(c.device_id == device_id for c in site.chargers)


__all__ = ["AccountChoice", "choose_account"]
