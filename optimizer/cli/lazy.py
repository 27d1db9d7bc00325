"""Command groups listed by name and help, their modules imported only when one is invoked.

`v2c-solar --help` and `v2c-solar run` should not pay for the 46 generated
`device` commands (the OpenAPI spec is parsed to build them), the simulator's
server or the forecast evaluation. The root group therefore holds a
`LazySubApp` placeholder per sub-app: enough for the command list, the
"did you mean" suggestions and the help panel. Resolving the name on the
command line or in shell completion (`v2c-solar device ...`) imports the
module and builds the typer group as `Typer.add_typer(app, name=..., help=...)`
would.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_group_from_info
from typer.models import TyperInfo

if TYPE_CHECKING:  # typer >= 0.2x vendors click; its types, whichever click it runs on
    from typer._click import Command, Context


class LazySubApp(TyperCommand):
    """A placeholder for the typer app `attribute` of `module`, registered as `name`.

    `help` is the group's help, here rather than in the sub-app's module so
    the root's listing needs no import.
    """

    def __init__(self, name: str, module: str, help: str, attribute: str = "app") -> None:
        super().__init__(name=name, help=help)
        self.module = module
        self.attribute = attribute

    def load(self, root: TyperGroup) -> TyperGroup:
        """Import the module and build its group, with the root's markup and suggestions."""
        sub_app: typer.Typer = getattr(importlib.import_module(self.module), self.attribute)
        return get_group_from_info(
            TyperInfo(sub_app, name=self.name, help=self.help),
            pretty_exceptions_short=sub_app.pretty_exceptions_short,
            rich_markup_mode=root.rich_markup_mode,
            suggest_commands=root.suggest_commands,
        )


class LazyGroup(TyperGroup):
    """A typer group that lists `sub_apps` after its own commands and loads one when invoked.

    Subclass it with the placeholders and pass the subclass as `typer.Typer(cls=...)`.
    """

    sub_apps: ClassVar[Sequence[LazySubApp]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for sub_app in self.sub_apps:
            self.add_command(sub_app)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        """The command named by `args[0]`, its module imported first if it is a placeholder."""
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, LazySubApp) and name is not None:
            command = self.commands[name] = command.load(self)
        return name, command, rest
