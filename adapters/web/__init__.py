"""The web server of the daemon and the demo: JSON API, Prometheus metrics, the page.

One module per concept: `app` (the starlette app factory), `api` (the JSON
routes), `auth` (the bearer token of the writes), `metrics` (the Prometheus
collector over the status board), `sessions` (the recorded sessions, read through
a separate read-only connection), `sites` (which home a route shows: a fleet's
`?account=&site=`), `health` (`/healthz`: the process's, or one home's),
`server` (uvicorn in a background thread) and
`openapi.json` (the API's description, served at `/api/openapi.json`).

The web thread never touches the daemon's controllers or store: it reads the
`StatusBoard`'s snapshots and writes through `SiteControl` (`optimizer.status`).
"""
