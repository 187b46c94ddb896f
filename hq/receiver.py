"""cx-hq run: take every station's events off the broker into the HQ database, exactly once.

    receiver = Receiver(config)
    receiver.run(stop=threading.Event())

paho's network thread only queues messages; this loop flushes them every few milliseconds in
one transaction, and only after COMMIT acknowledges each message to the broker
(``manual_ack``) and publishes each station's mark, retained, on ``<prefix>/<station>/ack``:
the highest seq committed with no gap below it, with this HQ's name (stations trust one HQ).
Stations count an event as delivered only when that mark passes it. Anything that does not
validate goes to ``dead_letters`` with its raw bytes and the reason; a row the database refuses
is found by splitting the flush and dead-lettered alone; nothing a station sends can stop the
loop or hold up another station.

Several receivers split the load through the MQTT 5 shared subscription
``$share/<group>/<prefix>/#``, each under its own client id (``<client_id>-<host>-<slot>``);
station status and health also come through a plain subscription so each receiver sees the
retained values when it connects.
"""
from __future__ import annotations

import fcntl
import json
import logging
import socket
import threading
import time
from pathlib import Path

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station import notify
from sync.envelope import (ACK, BATCH, CONFIG, EVENT_TYPES, HEALTH, MAX_EVENT_BYTES, STATUS,
                           Invalid, Reject, Topic, parse_message)
from hq.db import CommitResult, DeadLetter, HqDb
from sync.mqtt import Link, NetworkLoop

log = logging.getLogger("cx-hq")
FLUSH_S = 0.02                   # longest a received message waits for its commit
FLUSH_MAX_MESSAGES = 2000
FLUSH_MAX_BYTES = 2 * 1024 * 1024   # ~7 000 events: keeps each commit, and the mark, moving
RETRY_S = (0.5, 1, 2, 5)         # waits between tries of a commit the database cannot take now
# Subscription identifiers (MQTT 5) tell which subscription brought a message: status and
# health match both the shared and the plain one, and only the shared copy (one receiver of
# the group gets it) may dead-letter a bad one, so each is counted once.
SUB_SHARED, SUB_STATE, SUB_ACKS = 1, 2, 3
FOREIGN_ACKS_WINDOW_S = 3.0      # how long the plain subscription to every ack stays at start
MAX_SLOTS = 64


class InstanceTaken(RuntimeError):
    pass


def instance_client_id(config) -> tuple[str, object]:
    """A client id of its own for this receiver process, stable across its restarts:
    ``<client_id>-<host>-<slot>``, the slot being the first free lock file beside the HQ
    database (SQLite) or the first free advisory lock in the HQ database (PostgreSQL, where
    the receivers of one host share no folder with the database). Two receivers under one
    client id would take the session from each other forever; the lock (held while the
    process lives, released by its death) keeps them apart."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())[:40]
    if config.database.url:
        return _pg_slot(config, host or "host")
    folder = Path(config.database.path).parent
    folder.mkdir(parents=True, exist_ok=True)
    for slot in range(MAX_SLOTS):
        lock = open(folder / f".{config.hq.client_id}.receiver-{slot}.lock", "a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        return f"{config.hq.client_id}-{host or 'host'}-{slot}", lock
    raise InstanceTaken(f"{MAX_SLOTS} receivers already run from {folder}")


def _pg_slot(config, host: str) -> tuple[str, object]:
    """The first slot whose session-level advisory lock, keyed by client id and host, is
    free; the connection holding it is the lock (closed with the process)."""
    from hq import pg
    from hq.db import HqDbError, _redact
    try:
        con = pg.PgConnection(config.database.url, application="cx-hq-slot")
    except Exception as exc:
        raise HqDbError(f"cannot open the HQ database {_redact(config.database.url)}: "
                        f"{exc}") from exc
    owner = f"{config.hq.client_id}-{host}"
    for slot in range(MAX_SLOTS):
        if con.execute("SELECT pg_try_advisory_lock(hashtext(?), ?::integer)",
                       (owner, slot)).fetchone()[0]:
            return f"{owner}-{slot}", con
    con.close()
    raise InstanceTaken(f"{MAX_SLOTS} receivers named {owner} already run on this HQ database")


def link_for_hq(config, client_id: str) -> Link:
    # [hq] session_expiry_s defaults to an hour: mosquitto keeps handing a shared subscription's
    # messages to a member whose session is offline (measured: half of them, until it returns);
    # stations resend them after their ack timeout, but an hour is long enough for restarts and
    # short enough to let a dead receiver's session leave the group.
    return Link.to(config.hq, client_id, version="5",
                   session_expiry_s=config.hq.session_expiry_s)


def _subscription(identifier: int) -> Properties:
    props = Properties(PacketTypes.SUBSCRIBE)
    props.SubscriptionIdentifier = identifier
    return props


class Receiver:
    """One HQ receiver process: MQTT 5, persistent session, manual acks after commit."""

    def __init__(self, config, link: Link | None = None, db: HqDb | None = None):
        self.prefix = config.hq.topic_prefix
        self.name = config.hq.name
        self.group = config.hq.group
        self._instance_lock = None
        if link is None:
            client_id, self._instance_lock = instance_client_id(config)
            link = link_for_hq(config, client_id)
        self.link = link
        self.db = db or HqDb.for_config(config.database)
        self.client = self.link.client(manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._cond = threading.Condition()
        self._queue: list = []
        self._epoch = 0                  # bumps per connection: packet ids belong to one
        self._queued_bytes = 0
        self._first_at = 0.0
        self._acks_sub_until: float | None = None
        self._foreign: dict[str, str] = {}   # other HQs' names seen acking, with a station
        self._stop = threading.Event()
        self.stats = {"messages": 0, "inserted": 0, "duplicates": 0, "dead_letters": 0,
                      "flushes": 0, "commit_errors": 0, "isolated": 0, "dropped": 0,
                      "foreign_hq_acks": 0}

    # -- paho callbacks (network thread): record, never raise ---------------------------------
    def _on_connect(self, client, userdata, flags, reason, properties):
        try:
            if reason.is_failure:
                log.warning("broker refused the connection: %s", reason)
                return
            log.info("connected as %s (session present: %s)", self.link.client_id,
                     flags.session_present)
            with self._cond:
                self._epoch += 1
                self._acks_sub_until = time.monotonic() + FOREIGN_ACKS_WINDOW_S
            client.subscribe(f"$share/{self.group}/{self.prefix}/#", 1,
                             properties=_subscription(SUB_SHARED))
            client.subscribe([(f"{self.prefix}/+/+/+/{STATUS}", 1),
                              (f"{self.prefix}/+/+/+/{HEALTH}", 1)],
                             properties=_subscription(SUB_STATE))
            # The retained acks show, at start, whether another HQ acks stations on this broker.
            client.subscribe(f"{self.prefix}/+/+/+/{ACK}", 1, properties=_subscription(SUB_ACKS))
        except Exception:
            log.exception("could not subscribe after connecting")

    def _on_message(self, client, userdata, message):
        try:
            ids = getattr(message.properties, "SubscriptionIdentifier", None) or [SUB_SHARED]
            with self._cond:
                if not self._queue:
                    self._first_at = time.monotonic()
                self._queue.append((message.topic, message.payload, message.mid, message.qos,
                                    self._epoch, frozenset(ids)))
                self._queued_bytes += len(message.payload)
                if len(self._queue) == 1 or self._full():   # start the flush timer, or flush now
                    self._cond.notify()
        except Exception:
            log.exception("could not queue a message; acknowledged unread")
            client.ack(message.mid, message.qos)

    def _take(self) -> list:
        """The oldest messages up to one flush's limits (caller holds the lock)."""
        n, size = 0, 0
        while n < len(self._queue) and n < FLUSH_MAX_MESSAGES and size < FLUSH_MAX_BYTES:
            size += len(self._queue[n][1])
            n += 1
        batch, self._queue = self._queue[:n], self._queue[n:]
        self._queued_bytes -= size
        if self._queue:
            self._first_at = time.monotonic() - FLUSH_S     # the rest is already due
        return batch

    def _full(self) -> bool:
        return len(self._queue) >= FLUSH_MAX_MESSAGES or self._queued_bytes >= FLUSH_MAX_BYTES

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        network = NetworkLoop(self.client, name="cx-hq-network")
        self.link.connect_async(self.client)
        network.start()
        notify.ready("receiving")
        try:
            while not stop.is_set():
                if not network.alive():
                    # No messages would ever arrive again: exit, so systemd restarts us.
                    log.error("the MQTT network thread ended: %r", network.error)
                    raise RuntimeError("the MQTT network thread ended") from network.error
                self.step()
                notify.watchdog()
        finally:
            network.stop()
            self.db.close()
            if self._instance_lock is not None:
                self._instance_lock.close()
            log.info("stopped: %s", json.dumps(self.stats))

    def step(self) -> None:
        with self._cond:
            if not self._queue:
                self._cond.wait(0.2)
            if self._queue:
                due = self._first_at + FLUSH_S - time.monotonic()
                if due > 0 and not self._full():
                    self._cond.wait(due)
            batch = self._take()
            drop_acks_sub = self._acks_sub_until is not None and \
                time.monotonic() > self._acks_sub_until
            if drop_acks_sub:
                self._acks_sub_until = None
        if drop_acks_sub:
            self.client.unsubscribe(f"{self.prefix}/+/+/+/{ACK}")
        if batch:
            self.flush(batch)

    def flush(self, batch: list) -> None:
        now = time.time()
        envelopes, dead, statuses, healths = [], [], {}, {}
        for topic, payload, _mid, _qos, _epoch, via in batch:
            try:
                self._sort(topic, payload, via, now, envelopes, dead, statuses, healths)
            except Exception as exc:            # a bug must not lose or block the message
                log.exception("could not classify a message on %s", topic[:200])
                dead.append(DeadLetter(topic, Reject(payload, f"internal error: {exc!r}"[:500],
                                                     None)))
        results = self._commit(envelopes, dead, now, statuses, healths)
        if results is None:
            return              # stopping: nothing acknowledged, the broker redelivers it all
        with self._cond:
            epoch = self._epoch
        for _topic, _payload, mid, qos, received_in, _via in batch:
            # A message from an earlier connection is redelivered by the broker (and then a
            # duplicate here); its old packet id may now name another message.
            if qos > 0 and received_in == epoch:
                self.client.ack(mid, qos)
        acks = {}
        for result in results:                  # a later commit's mark is the newer one
            acks.update(result.acks)
            self.stats["inserted"] += result.inserted
            self.stats["duplicates"] += result.duplicates
            self.stats["dead_letters"] += result.dead_letters
        for station, ack in acks.items():
            self.client.publish(f"{self.prefix}/{station}/{ACK}",
                                json.dumps({**ack, "hq": self.name, "at": round(now, 3)}),
                                qos=1, retain=True)
        self.stats["messages"] += len(batch)
        self.stats["flushes"] += 1

    def _commit(self, envelopes, dead, now, statuses, healths) -> list[CommitResult] | None:
        """Commit, retrying while the database cannot take it (locked, disk full, I/O error:
        nothing is acknowledged meanwhile); None when asked to stop before it could."""
        units = [("event", e) for e in envelopes] + [("dead", d) for d in dead]
        if statuses or healths:
            units.append(("state", (statuses, healths)))
        tries = 0
        while True:
            try:
                return self._commit_isolating(units, now)
            except self.db.transient as exc:
                self.stats["commit_errors"] += 1
                wait = RETRY_S[min(tries, len(RETRY_S) - 1)]
                tries += 1
                log.error("HQ commit failed (%s); retrying in %s s", exc, wait)
                if self._stop.wait(wait):
                    return None

    def _commit_isolating(self, units: list, now: float) -> list[CommitResult]:
        """One commit for all units; when the database refuses one of them (anything but a
        database that cannot write at all), halve and retry until the refused unit stands
        alone, then dead-letter it (an event) or drop it (a dead letter, a status update)."""
        try:
            return [self.db.commit(
                [u for kind, u in units if kind == "event"],
                [u for kind, u in units if kind == "dead"], now,
                *next((u for kind, u in units if kind == "state"), ({}, {})))]
        except self.db.transient:
            raise
        except Exception as exc:
            self.stats["commit_errors"] += 1
            if len(units) > 1:
                half = len(units) // 2
                return self._commit_isolating(units[:half], now) + \
                    self._commit_isolating(units[half:], now)
            return self._refused(units[0], exc, now)

    def _refused(self, unit, exc: Exception, now: float) -> list[CommitResult]:
        kind, item = unit
        self.stats["isolated"] += 1
        if kind == "event":
            log.error("HQ could not store event %s/%d (%r): dead-lettered", item.station,
                      item.seq, exc)
            letter = DeadLetter(f"{self.prefix}/{item.station}/{item.type}", Reject(
                item.raw_bytes(), f"the database refused it: {exc!r}"[:500], item.station))
            try:
                return [self.db.commit([], [letter], now)]
            except self.db.transient:
                raise
            except Exception as again:
                exc = again
        log.error("HQ dropped a %s it could not store: %r", kind, exc)
        self.stats["dropped"] += 1
        return []

    def _sort(self, topic_name: str, payload: bytes, via: frozenset, now: float, envelopes,
              dead, statuses, healths) -> None:
        try:
            topic = Topic.parse(topic_name, self.prefix)
        except Invalid as exc:
            dead.append(DeadLetter(topic_name, Reject(payload, str(exc), None)))
            return
        if topic.kind == ACK:
            self._check_ack_owner(topic.station, payload)
            return
        if topic.kind == CONFIG:        # HQ's own settings pushes (hq/push.py), retained
            return
        if topic.kind in (STATUS, HEALTH):
            # Only the shared copy (one receiver of the group) dead-letters a bad one.
            reject = SUB_SHARED in via
            reason = _bad_state(topic.kind, payload)
            if reason is None:
                if topic.kind == STATUS:
                    statuses[topic.station] = (payload.decode(), now)
                else:
                    healths[topic.station] = payload.decode()
            elif reject:
                dead.append(DeadLetter(topic_name, Reject(payload, reason, topic.station)))
            return
        if topic.kind not in EVENT_TYPES and topic.kind != BATCH:
            dead.append(DeadLetter(topic_name, Reject(
                payload, f"unknown topic kind {topic.kind[:60]!r}", topic.station)))
            return
        accepted, rejected = parse_message(topic, payload, now)
        envelopes.extend(accepted)
        dead.extend(DeadLetter(topic_name, r) for r in rejected)

    def _check_ack_owner(self, station: str, payload: bytes) -> None:
        """Another HQ acking stations on this broker is a mistake worth shouting about: a
        station trusts only one HQ's acks, and if the other one shares our group it takes a
        share of the events into its own database."""
        try:
            name = json.loads(payload).get("hq") if len(payload) < MAX_EVENT_BYTES else None
        except (ValueError, AttributeError, RecursionError):
            return
        if name is None or name == self.name:
            return
        self.stats["foreign_hq_acks"] += 1
        if not isinstance(name, str):
            name = repr(name)[:60]
        if name not in self._foreign:
            self._foreign[name] = station
            log.error("another HQ, named %r, acks station %s on this broker (this HQ is %r). "
                      "Stations trust one HQ name ([sync] hq_name); give a test HQ its own "
                      "broker, or its own name and shared_group", name[:60], station, self.name)


def _bad_state(kind: str, payload: bytes) -> str | None:
    """Why a station's status or health message cannot be kept (None: it can)."""
    if kind == STATUS:
        return None if payload in (b"online", b"offline") else \
            "status must be 'online' or 'offline'"
    try:
        if len(payload) > MAX_EVENT_BYTES or not isinstance(json.loads(payload), dict):
            raise ValueError("not a JSON object under the size limit")
        payload.decode()
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return f"bad health: {exc}"[:300]
    return None
