"""Write a fleet file (`[[accounts]]`) for the fleet `simulator serve --fleet` serves.

For the real-time benchmark the simulator and the daemon run in two processes:

    v2c-solar simulator serve --fleet 100:10 --seed 0 --keys-file /tmp/f/keys.json --port 8080 &
    PYTHONPATH=$PWD .venv/bin/python benchmarks/fleet_files.py --fleet 100:10 --seed 0 \\
        --keys /tmp/f/keys.json --out /tmp/f
    v2c-solar run --config /tmp/f/fleet.toml --no-web \\
        --base-url http://127.0.0.1:8080/kong/v2c_service --clock-from-server

`generate_fleet` with the same counts and seed rebuilds the same homes; each home
becomes a single-home config file (`sites/<home>.toml`, read back and checked equal
to the generated one), each account's key a file of its own (`keys/<account>.key`,
mode 0600), and `fleet.toml` names them. The keys are printed nowhere.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from adapters.simulator.fleet import Fleet, generate_fleet, read_fleet_keys
from optimizer.config import load_config
from optimizer.config_toml import config_toml


def write_fleet_files(fleet: Fleet, out: Path) -> Path:
    """`out/fleet.toml`, `out/sites/*.toml` and `out/keys/*.key` for `fleet` (with the keys
    the simulator serves); the fleet file's path. SystemExit when a site does not read back
    as generated."""
    (out / "sites").mkdir(parents=True, exist_ok=True)
    (out / "keys").mkdir(exist_ok=True)
    lines = ["[web]", 'listen = ""', ""]
    for account in fleet.accounts:
        key_file = out / "keys" / f"{account.name}.key"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(account.api_key.get_secret_value() + "\n")
        lines += ["[[accounts]]", f'name = "{account.name}"']
        lines += [f'api_key_file = "keys/{account.name}.key"', ""]
        for site in account.sites:
            name = f"sites/{site.chargers[0].device_id.rsplit('-c', 1)[0]}.toml"
            (out / name).write_text(config_toml(site))
            if load_config(out / name) != site:
                raise SystemExit(f"{name}: does not read back as the generated site")
            lines += ["[[accounts.sites]]", f'config = "{name}"', ""]
    (out / "fleet.toml").write_text("\n".join(lines))
    return out / "fleet.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", default="100:10", help="ACCOUNTS:CHARGERS")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keys", type=Path, required=True, help="simulator serve's keys file")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    accounts, chargers = (int(x) for x in args.fleet.split(":"))
    fleet = generate_fleet(accounts, chargers, seed=args.seed).with_keys(read_fleet_keys(args.keys))
    path = write_fleet_files(fleet, args.out)
    print(f"{path}: {len(fleet.accounts)} accounts, {fleet.chargers} chargers")


if __name__ == "__main__":
    main()
