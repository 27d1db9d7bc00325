"""The MQTT bridge: its own asyncio loop in a background thread, between the broker and the daemon.

The daemon's thread only hands over: the `StatusBoard` calls the bridge's listener
after each publish, which keeps the newest status and wakes the loop
(`call_soon_threadsafe`); nothing waits on the network there. The loop:

1. connects (aiomqtt over paho) with a last will `offline` (retained) on
   `<prefix>/availability`, subscribes to the command topics;
2. publishes the discovery configs (retained), the state JSONs (retained), then
   `online`; afterwards each state topic again when its JSON changed, at most
   every `min_interval_s` (the statuses in between are coalesced: only the newest
   is kept, so a long outage queues nothing);
3. applies the commands it receives through `SiteControl` (`commands.py`); a
   refused one is logged and published, one line, on `<prefix>/site/error`;
4. when the broker goes away (aiomqtt's `MqttError`), waits 1, 2, 4 ... up to
   30 s between attempts and, once connected again, publishes everything anew.

`stop()` publishes `offline` (retained) and disconnects cleanly; a process that
dies instead leaves the broker to publish the will. The password is handed to the
client and never logged (`MqttSettings.where` names the broker in logs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import aiomqtt

from adapters.mqtt.commands import CommandHandler
from adapters.mqtt.config import MqttSettings
from adapters.mqtt.discovery import Discovery
from adapters.mqtt.state import charger_state, site_state
from adapters.mqtt.topics import SITE, Topics

if TYPE_CHECKING:
    from optimizer.status.board import StatusBoard
    from optimizer.status.control import SiteControl
    from optimizer.status.snapshot import SiteStatus

log = logging.getLogger(__name__)

ONLINE = "online"
OFFLINE = "offline"
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
"""Back-off between connection attempts (wall s): doubles from the first to the max."""
KEEPALIVE_S = 30
STOP_TIMEOUT_S = 10.0


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()


def _quiet_lost_connections(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    """aiomqtt leaves a lost connection's error in a future nobody awaits; it was handled."""
    if isinstance(context.get("exception"), aiomqtt.MqttError):
        log.debug("mqtt: %s", context.get("message"))
        return
    loop.default_exception_handler(context)


async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
    """Cancel `tasks` and wait until they ended.

    Cancelled again until they do: Python 3.11's `asyncio.wait_for` (inside aiomqtt's
    publish) swallows a cancellation that comes as its future completes (gh-86296),
    and the task would then wait for the next status forever.
    """
    while tasks:
        for task in tasks:
            task.cancel()
        _, tasks = await asyncio.wait(tasks, timeout=0.1)


class MqttBridge:
    """Publishes a `StatusBoard` to MQTT with Home Assistant discovery; applies its commands.

    `start()` returns at once (the first connection is made in the background);
    `stop()` says `offline` and disconnects. `tz` is the site's zone (departure
    times typed as `HH:MM`). `connections` counts successful connections.
    """

    def __init__(
        self,
        settings: MqttSettings,
        board: StatusBoard,
        control: SiteControl,
        tz: ZoneInfo,
        *,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self.settings = settings
        self.board = board
        self.topics = Topics(settings.topic_prefix, settings.discovery_prefix)
        self.discovery = Discovery(self.topics)
        self.tz = tz
        self.commands = CommandHandler(control, self.topics, tz, self._current)
        self.retry_max_s = retry_max_s
        self.connections = 0
        self._latest: SiteStatus = board.current()
        self._sent: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ----- the daemon's side (any thread) -------------------------------------------

    def start(self) -> None:
        """Start the loop's thread and follow the board."""
        self._thread = threading.Thread(target=self._run, name="mqtt-bridge", daemon=True)
        self._thread.start()
        self._ready.wait()
        self._unsubscribe = self.board.subscribe(self._on_status)
        self._on_status(self.board.current())  # one published before the subscription

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Publish `offline`, disconnect and end the thread (at most `timeout_s` wall s)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("mqtt: the bridge did not stop within %g s", timeout_s)

    def _on_status(self, status: SiteStatus) -> None:
        """The board's listener, in the daemon's thread: keep the newest, wake the loop."""
        self._latest = status
        loop, changed = self._loop, self._changed
        if loop is None or changed is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the bridge has stopped
            loop.call_soon_threadsafe(changed.set)

    def _current(self) -> SiteStatus:
        return self._latest

    # ----- the loop's thread --------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("mqtt: the bridge stopped")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(_quiet_lost_connections)
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._ready.set()
        delay, failing = RETRY_FIRST_S, False
        while not self._stopping.is_set():
            try:
                async with self._client() as client:
                    self.connections += 1
                    again = failing or self.connections > 1
                    log.log(
                        logging.WARNING if again else logging.INFO,
                        "mqtt: %sconnected to %s",
                        "re" if again else "",
                        self.settings.where,
                    )
                    delay, failing = RETRY_FIRST_S, False
                    await self._session(client)
            except aiomqtt.MqttError as exc:
                level = logging.DEBUG if failing else logging.WARNING
                log.log(
                    level,
                    "mqtt: %s: %s; retrying (every %g s at most)",
                    self.settings.where,
                    _one_line(str(exc)),
                    self.retry_max_s,
                )
                failing = True
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, self.retry_max_s)

    def _client(self) -> aiomqtt.Client:
        s = self.settings
        context = ssl.create_default_context(cafile=s.ca_file) if s.tls else None
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=f"{s.topic_prefix.replace('/', '-')}-{os.getpid()}",
            will=aiomqtt.Will(self.topics.availability, OFFLINE, qos=1, retain=True),
            keepalive=KEEPALIVE_S,
            tls_context=context,
        )

    async def _session(self, client: aiomqtt.Client) -> None:
        """One connection: announce, then publish and listen until stopped or disconnected.

        The reader runs from the start: it is what notices a lost connection at once
        (a publish waiting for its acknowledgement would only time out).
        """
        assert self._stopping is not None
        tasks = {
            asyncio.create_task(self._read_commands(client)),
            asyncio.create_task(self._publish_loop(client)),
        }
        stopping = asyncio.create_task(self._stopping.wait())
        done, pending = await asyncio.wait(tasks | {stopping}, return_when=asyncio.FIRST_COMPLETED)
        await _cancel(pending)
        for task in done - {stopping}:
            task.result()  # the MqttError that ended the connection
        await client.publish(self.topics.availability, OFFLINE, qos=1, retain=True)

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        """Subscribe, publish everything and `online`, then each change at most every interval."""
        assert self._changed is not None
        await client.subscribe(self.topics.commands, qos=1)
        self._sent.clear()  # a new connection (maybe a new broker): everything again
        await self._publish_changes(client)
        await client.publish(self.topics.availability, ONLINE, qos=1, retain=True)
        while True:
            await self._changed.wait()
            self._changed.clear()
            await self._publish_changes(client)
            await asyncio.sleep(self.settings.min_interval_s)

    async def _publish_changes(self, client: aiomqtt.Client) -> None:
        """The newest status's discovery configs and state JSONs that differ from those sent."""
        status = self._latest
        if not status.policies:  # the board's empty site: the daemon has published nothing yet
            return
        for message in self.discovery.messages(status):
            await self._publish_if_changed(client, message.topic, message.payload, qos=1)
        await self._publish_if_changed(client, self.topics.state(SITE), site_state(status))
        for charger in status.chargers:
            state = charger_state(charger, self.tz)
            await self._publish_if_changed(client, self.topics.state(charger.device_id), state)

    async def _publish_if_changed(
        self, client: aiomqtt.Client, topic: str, payload: dict[str, object], qos: int = 0
    ) -> None:
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        if self._sent.get(topic) == text:
            return
        await client.publish(topic, text, qos=qos, retain=True)
        self._sent[topic] = text

    async def _read_commands(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if message.retain:  # an old command kept by the broker is not a user's wish now
                log.info("mqtt: ignored a retained command on %s", message.topic)
                continue
            problem = self._apply(str(message.topic), _payload_bytes(message.payload))
            if problem is not None:
                await client.publish(self.topics.site_error, problem, qos=1)

    def _apply(self, topic: str, payload: bytes) -> str | None:
        """Apply one command; the one-line problem when it was refused or failed."""
        try:
            self.commands.handle(topic, payload)
        except ValueError as exc:
            problem = _one_line(str(exc))
            log.warning("mqtt: refused %s: %s", topic, problem)
            return problem
        except Exception as exc:  # a bug here must not end the bridge
            log.exception("mqtt: command on %s failed", topic)
            return _one_line(f"{topic}: {type(exc).__name__}: {exc}")
        return None


__all__ = ["OFFLINE", "ONLINE", "MqttBridge"]
