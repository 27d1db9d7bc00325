"""Every topic the bridge publishes or listens to, named once.

State (`<prefix>/...`):
- `<prefix>/availability`: `online` / `offline` (retained; the last will says `offline`);
- `<prefix>/site/state`: the site's JSON; `<prefix>/<device_id>/state`: a charger's JSON;
- `<prefix>/site/error`: one line per refused command.

Commands (Home Assistant publishes them):
- `<prefix>/site/policy/set` (payload: the policy's name);
- `<prefix>/<device_id>/target_kwh/set`, `<prefix>/<device_id>/departure/set`.

Discovery: `<discovery_prefix>/<component>/<node_id>/<object_id>/config`, one node per
charger and one for the site; node and object ids keep to `[a-zA-Z0-9_-]` as Home
Assistant requires.

In a fleet every home's topics sit one account and one site deeper
(`<prefix>/<account>/<site>/site/state`, `<prefix>/<account>/<site>/<device_id>/state`,
`.../set`), its node ids too (`<prefix>_<account>_<site>_site`), so homes never share a
topic or a unique id (`adapters/mqtt/fleet.py` names them); the availability stays
`<prefix>/availability`: the fleet's one connection and its one last will. A single
home (`home` empty) keeps the topics above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

SITE = "site"
"""The topic level of the site (a charger's is its device id)."""

_NOT_ID = re.compile(r"[^a-zA-Z0-9_-]")


class Command(StrEnum):
    """What a `.../set` topic asks for (the level before `set`)."""

    POLICY = "policy"
    TARGET_KWH = "target_kwh"
    DEPARTURE = "departure"


@dataclass(frozen=True, slots=True)
class CommandTopic:
    """A parsed command topic: the command and whom it is for (`SITE` or a device id)."""

    command: Command
    scope: str


def discovery_id(text: str) -> str:
    """`text` reduced to Home Assistant's id characters `[a-zA-Z0-9_-]`."""
    return _NOT_ID.sub("_", text)


def command_root(topic: str) -> str:
    """The home's root a command topic `<root>/<scope>/<command>/set` is for ("" when it is
    too short): how the bridge finds the one home a command concerns."""
    levels = topic.split("/")
    return "/".join(levels[:-3]) if len(levels) > 3 else ""


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names of one home under one prefix and one discovery prefix.

    `home` is the home's levels under the prefix in a fleet (`account/site`), "" for
    a single home: its topics are then the prefix's own, as they always were.
    """

    prefix: str
    discovery_prefix: str
    home: str = ""

    @property
    def root(self) -> str:
        """Where the home's own topics start: the prefix, or `<prefix>/<home>` in a fleet."""
        return f"{self.prefix}/{self.home}" if self.home else self.prefix

    @property
    def availability(self) -> str:
        """The connection's `online`/`offline` (one per bridge, shared by its homes)."""
        return f"{self.prefix}/availability"

    @property
    def site_state(self) -> str:
        return f"{self.root}/{SITE}/state"

    @property
    def site_error(self) -> str:
        return f"{self.root}/{SITE}/error"

    @property
    def commands(self) -> str:
        """The one subscription that covers every command topic."""
        return f"{self.root}/+/+/set"

    def state(self, scope: str) -> str:
        """The state topic of the site (`SITE`) or of a charger (its device id)."""
        return f"{self.root}/{scope}/state"

    def command(self, command: Command, scope: str) -> str:
        """Where Home Assistant publishes `command` for `scope`."""
        return f"{self.root}/{scope}/{command.value}/set"

    def parse_command(self, topic: str) -> CommandTopic | None:
        """The command a topic carries, or None when it is not one of ours."""
        head = f"{self.root}/"
        if not topic.startswith(head):
            return None
        levels = topic[len(head) :].split("/")
        if len(levels) != 3 or levels[2] != "set":
            return None
        scope, name = levels[0], levels[1]
        try:
            command = Command(name)
        except ValueError:
            return None
        if (command is Command.POLICY) != (scope == SITE):
            return None
        return CommandTopic(command, scope)

    def node_id(self, scope: str) -> str:
        """The discovery node of the site or of a charger (unique per prefix and home)."""
        return discovery_id(f"{self.root}_{scope}")

    def discovery(self, component: str, scope: str, object_id: str) -> str:
        """The retained config topic of one entity."""
        return f"{self.discovery_prefix}/{component}/{self.node_id(scope)}/{object_id}/config"


__all__ = ["SITE", "Command", "CommandTopic", "Topics", "command_root", "discovery_id"]
