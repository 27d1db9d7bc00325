"""MQTT with Home Assistant discovery: the daemons' state out, Home Assistant's commands in.

The bridge (`bridge.py`) runs its own asyncio loop in a background thread. It reads
the daemon only through the `StatusBoard` (snapshots, pushed to it) and steers it
only through `SiteControl` (queued for the daemon's thread), so a slow or absent
broker never slows the control. Modules, one concept each:

- `config.py`: the `[mqtt]` section and `--mqtt mqtt://user:password@host:port`,
  resolved into `MqttSettings` (the password never in a repr, a log or an error);
- `topics.py`: every topic name, in one place;
- `state.py`: the state JSON published for the site and each charger;
- `discovery.py`: the Home Assistant discovery payloads (retained);
- `commands.py`: Home Assistant's commands applied through `SiteControl`;
- `home.py`: one home on the bridge (its board, topics, discovery, commands);
- `fleet.py`: a fleet's homes named under `<prefix>/<account>/<site>` (never colliding);
- `bridge.py`: the client loop over one home or a fleet's, one connection: connect,
  publish, listen (each command to its own home), reconnect with back-off;
- `running.py`: the bridge beside a serving daemon (`run` and `demo`).

Nothing here is imported by `import adapters.mqtt`: only `bridge.py` loads aiomqtt.
"""
