"""A package's public names, each imported from its submodule on first access (PEP 562).

Packages such as `optimizer.daemon` and `optimizer.forecast` re-export their
submodules' classes; importing them all in `__init__` made any submodule
import (even of a small one) load pvlib, pandas and scipy. Such a package now
lists its imports once, under `if TYPE_CHECKING:` (where type checkers see
them), and sets `__getattr__ = lazy_exports(__name__, __file__)`: the block is
read from the package's source and each name imported when it is asked for.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path


def type_checking_imports(source: str) -> dict[str, str]:
    """`{name: module}` of the `from module import name` lines under a top-level TYPE_CHECKING."""
    owner: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
                for alias in statement.names:
                    owner[alias.asname or alias.name] = statement.module
    return owner


def lazy_exports(package: str, init_file: str) -> Callable[[str], object]:
    """The `__getattr__` of `package`, whose `__init__.py` is `init_file`."""
    owner = type_checking_imports(Path(init_file).read_text(encoding="utf-8"))

    def __getattr__(name: str) -> object:
        module = owner.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    return __getattr__
