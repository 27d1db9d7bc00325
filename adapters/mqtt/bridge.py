"""The MQTT bridge: its own asyncio loop in a background thread, between the broker and the daemons.

It carries one home or a fleet's homes (`home.py`), all over one connection. A
daemon's thread only hands over: a home's `StatusBoard` calls the bridge's listener
after each publish, which keeps the newest status and wakes the loop
(`call_soon_threadsafe`); nothing waits on the network there. The loop:

1. connects (aiomqtt over paho) with a last will `offline` (retained) on
   `<prefix>/availability`, subscribes to the command topics;
2. publishes the discovery configs (retained), the state JSONs (retained), then
   `online`; afterwards each state topic again when its JSON changed, at most
   every `min_interval_s` (the statuses in between are coalesced: only each home's
   newest is kept, so a long outage queues nothing);
3. applies each command it receives through the `SiteControl` of the home whose
   topics it came on, and no other (`commands.py`); a refused one is logged and
   published, one line, on that home's `.../site/error`;
4. when the broker goes away (aiomqtt's `MqttError`), waits 1, 2, 4 ... up to
   30 s between attempts and, once connected again, publishes everything anew.

`stop()` publishes `offline` (retained) and disconnects cleanly; a process that
dies instead leaves the broker to publish the will. The password is handed to the
client and never logged (`MqttSettings.where` names the broker in logs).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import aiomqtt

from adapters.mqtt.config import MqttSettings
from adapters.mqtt.home import MqttHome
from adapters.mqtt.topics import Topics, command_root

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
    """Publishes homes' `StatusBoard`s to MQTT with Home Assistant discovery; applies
    their commands, each to its own home's `SiteControl`.

    One connection for every home (a fleet's too): one thread, one socket, one last
    will, so `<prefix>/availability` says whether this process is up, which is what
    decides for all its homes at once. `start()` returns at once (the first
    connection is made in the background); `stop()` says `offline` and disconnects.
    `connections` counts successful connections.
    """

    def __init__(
        self,
        settings: MqttSettings,
        homes: Sequence[MqttHome],
        *,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self.settings = settings
        self.homes = tuple(homes)
        self._by_root = {home.topics.root: home for home in self.homes}
        if not self.homes or len(self._by_root) != len(self.homes):
            raise ValueError("the MQTT bridge needs homes, each under a topic root of its own")
        self.topics = Topics(settings.topic_prefix, settings.discovery_prefix)
        self.retry_max_s = retry_max_s
        self.connections = 0
        self._sent: dict[str, str] = {}
        self._dirty: set[MqttHome] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    @classmethod
    def for_home(
        cls,
        settings: MqttSettings,
        board: StatusBoard,
        control: SiteControl,
        tz: ZoneInfo,
        *,
        retry_max_s: float = RETRY_MAX_S,
    ) -> MqttBridge:
        """The bridge of a single home: its topics right under the prefix."""
        topics = Topics(settings.topic_prefix, settings.discovery_prefix)
        home = MqttHome(board, control, tz, topics)
        return cls(settings, [home], retry_max_s=retry_max_s)

    # ----- the daemon's side (any thread) -------------------------------------------

    def start(self) -> None:
        """Start the loop's thread and follow every home's board."""
        self._thread = threading.Thread(target=self._run, name="mqtt-bridge", daemon=True)
        self._thread.start()
        self._ready.wait()
        for home in self.homes:
            listener = functools.partial(self._on_status, home)
            self._unsubscribe.append(home.board.subscribe(listener))
            listener(home.board.current())  # one published before the subscription

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Publish `offline`, disconnect and end the thread (at most `timeout_s` wall s)."""
        while self._unsubscribe:
            self._unsubscribe.pop()()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("mqtt: the bridge did not stop within %g s", timeout_s)

    def _on_status(self, home: MqttHome, status: SiteStatus) -> None:
        """A board's listener, in its daemon's thread: keep the newest, wake the loop."""
        home.latest = status
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the bridge has stopped
            loop.call_soon_threadsafe(self._mark, home)

    # ----- the loop's thread --------------------------------------------------------

    def _mark(self, home: MqttHome) -> None:
        """`home` has a newer status to publish (in the loop's thread)."""
        assert self._changed is not None
        self._dirty.add(home)
        self._changed.set()

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
        """Subscribe, publish everything and `online`, then each change at most every
        interval (a home whose status changed several times meanwhile: its newest)."""
        assert self._changed is not None
        await client.subscribe([(home.topics.commands, 1) for home in self.homes])
        self._sent.clear()  # a new connection (maybe a new broker): everything again
        await self._publish(client, self.homes)
        await client.publish(self.topics.availability, ONLINE, qos=1, retain=True)
        while True:
            await self._changed.wait()
            self._changed.clear()
            dirty, self._dirty = self._dirty, set()
            await self._publish(client, dirty)
            await asyncio.sleep(self.settings.min_interval_s)

    async def _publish(self, client: aiomqtt.Client, homes: Iterable[MqttHome]) -> None:
        """The messages of `homes`' newest statuses that differ from those sent."""
        for home in homes:
            for message in home.messages():
                await self._publish_if_changed(client, message.topic, message.payload, message.qos)

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
            topic = str(message.topic)
            home = self._by_root.get(command_root(topic))
            if home is None:
                continue
            problem = self._apply(home, topic, _payload_bytes(message.payload))
            if problem is not None:
                await client.publish(home.topics.site_error, problem, qos=1)

    @staticmethod
    def _apply(home: MqttHome, topic: str, payload: bytes) -> str | None:
        """Apply one command to `home`; the one-line problem when it was refused or failed."""
        try:
            home.commands.handle(topic, payload)
        except ValueError as exc:
            problem = _one_line(str(exc))
            log.warning("mqtt: refused %s: %s", topic, problem)
            return problem
        except Exception as exc:  # a bug here must not end the bridge
            log.exception("mqtt: command on %s failed", topic)
            return _one_line(f"{topic}: {type(exc).__name__}: {exc}")
        return None


__all__ = ["OFFLINE", "ONLINE", "MqttBridge"]
