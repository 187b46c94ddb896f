"""cx-hq run: take every station's events off the broker into the HQ database, exactly once.

    receiver = Receiver(config)
    receiver.run(stop=threading.Event())

paho's network thread only queues messages; this loop flushes them every few milliseconds in
one transaction, and only after COMMIT acknowledges each message to the broker
(``manual_ack``) and publishes each station's mark, retained, on ``<prefix>/<station>/ack``:
the highest seq committed with no gap below it. Stations count an event as delivered only
when that mark passes it. Anything that does not validate goes to ``dead_letters`` with its raw
bytes and the reason; nothing a station sends can stop the loop.

Several receivers split the load through the MQTT 5 shared subscription
``$share/<group>/<prefix>/#``; station status and health also come through a plain
subscription so each receiver sees the retained values when it connects.
"""
from __future__ import annotations

import json
import logging
import threading
import time

from station import notify
from sync.envelope import (ACK, BATCH, EVENT_TYPES, HEALTH, MAX_EVENT_BYTES, STATUS, Invalid,
                           Reject, Topic, parse_message)
from sync.hq.db import DeadLetter, HqDb
from sync.mqtt import Link

log = logging.getLogger("cx-hq")
FLUSH_S = 0.02                   # longest a received message waits for its commit
FLUSH_MAX_MESSAGES = 2000
FLUSH_MAX_BYTES = 2 * 1024 * 1024   # ~7 000 events: keeps each commit, and the mark, moving


def link_for_hq(config) -> Link:
    # [hq] session_expiry_s defaults to an hour: mosquitto keeps handing a shared subscription's
    # messages to a member whose session is offline (measured: half of them, until it returns);
    # stations resend them after their ack timeout, but an hour is long enough for restarts and
    # short enough to let a dead receiver's session leave the group.
    h = config.hq
    return Link(client_id=h.client_id, host=h.broker_host, port=h.broker_port, version="5",
                keepalive=h.keepalive_s, tls=h.tls, ca_file=h.ca_file, cert_file=h.cert_file,
                key_file=h.key_file, credentials_file=h.credentials_file,
                allow_plaintext_credentials=h.allow_plaintext_credentials,
                session_expiry_s=h.session_expiry_s)


class Receiver:
    """One HQ receiver process: MQTT 5, persistent session, manual acks after commit."""

    def __init__(self, config, link: Link | None = None, db: HqDb | None = None):
        self.prefix = config.sync.topic_prefix
        self.group = config.hq.shared_group
        self.name = config.hq.name
        self.db = db or HqDb.open(config.hq.database)
        self.link = link or link_for_hq(config)
        self.client = self.link.client(manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._cond = threading.Condition()
        self._queue: list = []
        self._epoch = 0                  # bumps per connection: packet ids belong to one
        self._queued_bytes = 0
        self._first_at = 0.0
        self.stats = {"messages": 0, "inserted": 0, "duplicates": 0, "dead_letters": 0,
                      "flushes": 0, "commit_errors": 0}

    def _on_connect(self, client, userdata, flags, reason, properties):
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        log.info("connected (session present: %s)", flags.session_present)
        with self._cond:
            self._epoch += 1
        client.subscribe([(f"$share/{self.group}/{self.prefix}/#", 1),
                          (f"{self.prefix}/+/+/+/{STATUS}", 1),
                          (f"{self.prefix}/+/+/+/{HEALTH}", 1)])

    def _on_message(self, client, userdata, message):
        with self._cond:
            if not self._queue:
                self._first_at = time.monotonic()
            self._queue.append((message.topic, message.payload, message.mid, message.qos,
                                self._epoch))
            self._queued_bytes += len(message.payload)
            if len(self._queue) == 1 or self._full():   # start the flush timer, or flush now
                self._cond.notify()

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
        self.link.connect_async(self.client)
        self.client.loop_start()
        notify.ready("receiving")
        try:
            while not stop.is_set():
                self.step()
                notify.watchdog()
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            self.db.close()
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
        if batch:
            self.flush(batch)

    def flush(self, batch: list) -> None:
        now = time.time()
        envelopes, dead, statuses, healths = [], [], {}, {}
        for topic, payload, _mid, _qos, _epoch in batch:
            try:
                self._sort(topic, payload, now, envelopes, dead, statuses, healths)
            except Exception as exc:            # a bug must not lose or block the message
                log.exception("could not classify a message on %s", topic[:200])
                dead.append(DeadLetter(topic, Reject(payload, f"internal error: {exc!r}"[:500],
                                                     None)))
        while True:
            try:
                result = self.db.commit(envelopes, dead, now, statuses, healths)
                break
            except Exception as exc:
                # Nothing was acked: retrying keeps the messages; the broker resends if we die.
                self.stats["commit_errors"] += 1
                log.error("HQ commit failed (%s); retrying in 1 s", exc)
                time.sleep(1)
        with self._cond:
            epoch = self._epoch
        for _topic, _payload, mid, qos, received_in in batch:
            # A message from an earlier connection is redelivered by the broker (and then a
            # duplicate here); its old packet id may now name another message.
            if qos > 0 and received_in == epoch:
                self.client.ack(mid, qos)
        for station, ack in result.acks.items():
            self.client.publish(f"{self.prefix}/{station}/{ACK}",
                                json.dumps({**ack, "hq": self.name, "at": round(now, 3)}), qos=1, retain=True)
        self.stats["messages"] += len(batch)
        self.stats["inserted"] += result.inserted
        self.stats["duplicates"] += result.duplicates
        self.stats["dead_letters"] += result.dead_letters
        self.stats["flushes"] += 1

    def _sort(self, topic_name: str, payload: bytes, now: float, envelopes, dead, statuses,
              healths) -> None:
        try:
            topic = Topic.parse(topic_name, self.prefix)
        except Invalid as exc:
            dead.append(DeadLetter(topic_name, Reject(payload, str(exc), None)))
            return
        if topic.kind == ACK:
            return                                  # our own marks, seen through `#`
        if topic.kind == STATUS:
            text = payload.decode("utf-8", "replace")
            if text in ("online", "offline"):
                statuses[topic.station] = (text, now)
            else:
                dead.append(DeadLetter(topic_name, Reject(
                    payload, "status must be 'online' or 'offline'", topic.station)))
            return
        if topic.kind == HEALTH:
            try:
                if len(payload) > MAX_EVENT_BYTES or not isinstance(json.loads(payload), dict):
                    raise ValueError("not a JSON object under the size limit")
                healths[topic.station] = payload.decode()
            except (ValueError, UnicodeDecodeError) as exc:
                dead.append(DeadLetter(topic_name, Reject(payload, f"bad health: {exc}"[:300],
                                                          topic.station)))
            return
        if topic.kind not in EVENT_TYPES and topic.kind != BATCH:
            dead.append(DeadLetter(topic_name, Reject(
                payload, f"unknown topic kind {topic.kind[:60]!r}", topic.station)))
            return
        accepted, rejected = parse_message(topic, payload, now)
        envelopes.extend(accepted)
        dead.extend(DeadLetter(topic_name, r) for r in rejected)
