// Which home the page shows: `?account=NAME&site=NAME` in the page's own URL (so a link
// opens that home), passed on to every API call. The picker, filled from GET /api/accounts
// and shown only when the daemon serves more than one home (a fleet's accounts), switches
// homes by changing the URL.

const PARAMS = ["account", "site"];

/** The page's own selector as a query string without "?" ("" for the default home). */
function ownSelector() {
  const own = new URLSearchParams(window.location.search);
  const kept = new URLSearchParams();
  for (const name of PARAMS) if (own.has(name)) kept.set(name, own.get(name));
  return kept.toString();
}

const SELECTOR = ownSelector();

/** The API `path` for the page's home. */
export function scoped(path) {
  if (!SELECTOR) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${SELECTOR}`;
}

/** Every home of `accounts` (the GET /api/accounts list) as a picker option. */
function homes(accounts) {
  return accounts.flatMap((a) => (a.site_names ?? []).map((site) => ({
    account: a.account,
    site,
    query: new URLSearchParams({ account: a.account, site }).toString(),
    label: a.site_names.length > 1 ? `${a.account} / ${site}` : a.account,
  })));
}

/** The page's home among `options`: the one its URL names, else the first account's first. */
function current(options) {
  const own = new URLSearchParams(SELECTOR);
  const account = own.get("account") ?? options[0]?.account;
  const mine = options.filter((o) => o.account === account);
  const site = own.get("site");
  return (site == null ? mine[0] : mine.find((o) => o.site === site)) ?? null;
}

/** Fill the `picker` (a select inside the element `holder`) from GET /api/accounts, read
 * with `getJson`; shown only with more than one home. Choosing one opens its URL. */
export async function offerSites(holder, picker, getJson) {
  const { accounts } = await getJson("/api/accounts");
  const options = homes(accounts ?? []);
  holder.hidden = options.length < 2;
  if (holder.hidden) return;
  picker.replaceChildren(...options.map((o) => new Option(o.label, o.query)));
  const home = current(options);
  picker.value = home ? home.query : "";
  if (home) document.title = `v2c-solar · ${home.label}`;
  picker.addEventListener("change", () => {
    window.location.search = `?${picker.value}`;
  });
}
