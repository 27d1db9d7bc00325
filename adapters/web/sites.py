"""Which home a site-scoped route shows or steers: `?account=NAME&site=NAME`.

A fleet daemon serves every account's sites from one web app. Every route that
concerns one site (`/api/status`, `/api/plan`, `/api/sessions`, `/api/decisions`,
`/api/events`, `POST /api/policy`, `POST`/`DELETE /api/chargers/{id}/target`) takes
the home from two query parameters: `account` (default: the first account) and `site`
(default: that account's first site). Without them a route answers as it always did
for one home, so a single home's URLs and answers are unchanged; a name that is not
served is a 404 naming it. Query parameters rather than path prefixes: the page passes
its own `?account=...&site=...` on to every call, and a link to a home is the page's URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING

from adapters.storage.schema import DEFAULT_ACCOUNT
from optimizer.status.board import StatusBoard
from optimizer.status.control import SiteControl

if TYPE_CHECKING:
    from optimizer.policies.tariff import TariffConfig

ACCOUNT_PARAM = "account"
SITE_PARAM = "site"
DEFAULT_SITE = "site1"
"""A single home's site name (`optimizer.accounts.site_names` of an unnamed first site)."""


@dataclass(frozen=True, slots=True)
class WebSite:
    """One home the web app shows and steers.

    `board` is where its daemon publishes, `control` what steers it, `tz` its zone (a
    departure given as `HH:MM`). `account` and `name` select it. Its sessions are the
    rows of `store_account` (None: every account's, a single home's database) of the
    chargers `devices` (None: every charger's), their saving priced with `tariff`.
    """

    board: StatusBoard
    control: SiteControl
    tz: tzinfo = UTC
    account: str = DEFAULT_ACCOUNT
    name: str = DEFAULT_SITE
    store_account: str | None = None
    devices: tuple[str, ...] | None = None
    tariff: TariffConfig | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(account, name): unique among the served homes."""
        return self.account, self.name


class UnknownSite(LookupError):
    """A selector naming no served home: one line naming it; `field` is the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SiteDirectory:
    """The served homes by account, in the order given; the first is the default."""

    def __init__(self, sites: Sequence[WebSite]) -> None:
        if not sites:
            raise ValueError("the web app needs at least one site")
        self.sites = tuple(sites)
        self._accounts: dict[str, list[WebSite]] = {}
        for site in self.sites:
            self._accounts.setdefault(site.account, []).append(site)

    @property
    def accounts(self) -> list[tuple[str, tuple[WebSite, ...]]]:
        """Each account's name and homes, in the order given."""
        return [(name, tuple(homes)) for name, homes in self._accounts.items()]

    def pick(self, query: Mapping[str, str]) -> WebSite:
        """The home `query`'s `account` and `site` select (see the module doc); raises
        `UnknownSite` naming the account or the site."""
        account = query.get(ACCOUNT_PARAM, self.sites[0].account)
        homes = self._accounts.get(account)
        if homes is None:
            raise UnknownSite(
                ACCOUNT_PARAM, f"account: no account {account!r} here (see GET /api/accounts)"
            )
        name = query.get(SITE_PARAM)
        if name is None:
            return homes[0]
        for home in homes:
            if home.name == name:
                return home
        names = ", ".join(h.name for h in homes)
        raise UnknownSite(
            SITE_PARAM, f"site: no site {name!r} in account {account!r} (sites: {names})"
        )


__all__ = [
    "ACCOUNT_PARAM",
    "DEFAULT_SITE",
    "SITE_PARAM",
    "SiteDirectory",
    "UnknownSite",
    "WebSite",
]
