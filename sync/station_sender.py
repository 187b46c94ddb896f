"""cx-sync: publish the station outbox to HQ until HQ itself confirms each event.

    sender = Sender(config, Store.open(config))
    sender.run(stop=threading.Event())     # until stop is set (SIGTERM in cx-sync)

Delivery is counted end to end: a PUBACK only frees a slot in our in-flight window, because
mosquitto may drop a message it acknowledged (queue limits, a crash between snapshots). HQ
publishes, retained, the highest seq it committed with no gap below it on
``<prefix>/<station>/ack``; only that mark moves outbox rows to acked. What follows from the
acks (rewinds to the mark or to HQ's holes after ``ack_timeout_s``, the timeout's backoff,
renumbering after a replaced database, conflicts) is decided by ``sync.delivery.DeliveryWindow``,
which has no I/O; this module is its adapter: paho callbacks record what arrived under a lock,
and the main loop feeds that to the window and carries out what it decides (outbox reads and
writes, publishes, health, logs). Only acks of the HQ this station trusts (``hq_name``) reach
the window: another HQ on the same broker (a test HQ, a second demo) must not move it.

Nothing that arrives may stop delivery: every paho callback catches whatever it raises, and
paho's network thread is our own (``NetworkLoop``). Should it end anyway, ``run`` stops
feeding the systemd watchdog and raises, so cx-sync exits non-zero and gets restarted.

Small backlogs go one event per message (lowest latency); above ``batch_threshold`` pending
events, consecutive events travel as one JSON array per message on ``<prefix>/<station>/batch``,
bounded by ``batch_max_events`` and ``batch_max_bytes`` (one message per event tops out near
10 k/s in paho, batches do not).
"""
from __future__ import annotations

import json
import logging
import platform
import shutil
import threading
import time
from importlib import metadata

from station import notify
from station.events import topic as topic_of
from station.remote_settings import HEALTH_COMPONENT, receive_push
from sync.envelope import ACK, BATCH, CONFIG, HEALTH, STATUS, batch_payload
from sync.mqtt import Link, NetworkLoop, error_text, ok
from sync.delivery import (Ack, DeliveryWindow, Lookup, MarkAcked, OutboxAt, Renumber, Resend,
                         Rewind, Send)

log = logging.getLogger("cx-sync")
IDLE_POLL_S = 0.02              # how often an idle sender looks for new outbox rows
MAX_FETCH = 20_000              # outbox rows read per round in batch mode
SYS_DROPPED = "$SYS/broker/publish/messages/dropped"
LOG_EVERY_S = 60.0              # one line a minute per kind of bad input: it must not fill the disk
MAX_FOREIGN_NAMES = 100         # foreign HQ names remembered (each logged once)
# What the network thread records for the main loop, as (kind, value) in arrival order.
CONNECTED, SUBSCRIBED, HEARD, PUSHED = "connected", "subscribed", "heard", "pushed"


def link_for_station(config) -> Link:
    st = config.station
    return Link.to(config.sync, f"cx-sync-{st.org}-{st.store}-{st.id}",
                   version=config.sync.mqtt_version)


class Sender:
    """Outbox → MQTT with an end-to-end acknowledged window. One instance per process."""

    def __init__(self, config, store, link: Link | None = None):
        self.config = config
        self.cfg = config.sync
        self.store = store
        self.station = config.station.path
        self.db_dir = config.database.path.parent
        self.base = f"{self.cfg.topic_prefix}/{self.station}"
        self.link = link or link_for_station(config)
        self.client = self.link.client()
        self.client.will_set(f"{self.base}/{STATUS}", "offline", qos=1, retain=True)
        self.client.on_connect = self._total(self._on_connect)
        self.client.on_disconnect = self._total(self._on_disconnect)
        self.client.on_publish = self._total(self._on_publish)
        self.client.on_message = self._total(self._on_message)
        self.client.on_subscribe = self._total(self._on_subscribe)
        self.network = NetworkLoop(self.client, name="cx-sync-network")
        # Shared with paho's network thread; callbacks only record facts under this lock.
        self._cond = threading.Condition()
        self._connected = False
        self._news: list[tuple] = []      # for the window, see CONNECTED
        self._inflight: set[int] = set()  # mids published, PUBACK not yet seen
        self._early: set[int] = set()     # PUBACKs that beat publish() returning
        self._ack_sub_mid: int | None = None
        self._broker_dropped: int | None = None
        # Network thread only.
        self._logged_at: dict[str, float] = {}
        self._foreign_names: set[str] = set()
        # Main thread only.
        status = store.outbox_status()
        self.window = DeliveryWindow(acked=status["last_acked_seq"] or 0,
                                     last_seq=status["last_seq"], now=time.monotonic(),
                                     ack_timeout_s=self.cfg.ack_timeout_s)
        self._next_health = 0.0
        self._batching = False
        self._reported_backlog = 0
        self._refill = max(1, self.cfg.inflight // 4)
        self.stats = {"published_events": 0, "published_messages": 0, "rewinds": 0,
                      "selective_rewinds": 0, "publish_errors": 0, "connects": 0,
                      "renumbered": 0, "foreign_acks": 0, "malformed_acks": 0,
                      "conflicts": 0}

    # -- paho callbacks (network thread) ---------------------------------------------------
    def _total(self, callback):
        """The callback, never raising: paho's network thread, and all delivery with it, would
        end at the first exception out of it."""
        def call(*args):
            try:
                callback(*args)
            except Exception:
                if self._time_to_log(callback.__name__):
                    log.exception("%s failed; ignored", callback.__name__)
        return call

    def _time_to_log(self, kind: str) -> bool:
        now = time.monotonic()
        if now - self._logged_at.get(kind, -LOG_EVERY_S) < LOG_EVERY_S:
            return False
        self._logged_at[kind] = now
        return True

    def _on_connect(self, client, userdata, flags, reason, properties):
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        # We resend from HQ's mark ourselves; paho's RAM copies would only add duplicates.
        client.drop_out_messages()
        with self._cond:
            self._connected = True
            self._news.append((CONNECTED, None))
            self._inflight.clear()
            self._early.clear()
            self._cond.notify_all()
        _rc, mid = client.subscribe(f"{self.base}/{ACK}", qos=1)
        with self._cond:
            self._ack_sub_mid = mid
        # Settings HQ pushed to this station (retained: the newest arrives at every connect).
        client.subscribe(f"{self.base}/{CONFIG}", qos=1)
        # Messages the broker threw away (queue limits): shown in health where the ACL allows.
        client.subscribe(SYS_DROPPED, qos=0)
        client.publish(f"{self.base}/{STATUS}", "online", qos=1, retain=True)

    def _on_disconnect(self, client, userdata, flags, reason, properties):
        with self._cond:
            self._connected = False
            self._cond.notify_all()

    def _on_publish(self, client, userdata, mid, reason, properties):
        with self._cond:
            if mid in self._inflight:
                self._inflight.discard(mid)
            else:
                self._early.add(mid)
            # Wake the main loop only when a refill round is possible (saves a thread switch
            # per PUBACK); it also polls every IDLE_POLL_S.
            if self.cfg.inflight - len(self._inflight) >= self._refill:
                self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self._cond:
            if mid == self._ack_sub_mid:
                self._news.append((SUBSCRIBED, time.monotonic()))
        if any(getattr(code, "is_failure", False) for code in reason_codes):
            log.warning("the broker refused a subscription (%s): check its ACL", reason_codes)

    def _on_message(self, client, userdata, message):
        if message.topic == f"{self.base}/{CONFIG}":
            with self._cond:        # applied by the main loop, which owns the store
                self._news.append((PUSHED, bytes(message.payload)))
                self._cond.notify_all()
            return
        if message.topic == SYS_DROPPED:
            try:
                self._broker_dropped = int(message.payload)
            except ValueError:
                pass
            return
        try:
            doc = json.loads(message.payload)       # '[' * 100000 raises RecursionError
            if not isinstance(doc, dict):
                raise ValueError(f"not a JSON object: {doc!r:.80}")
            hq = doc.get("hq")
            ack = Ack.from_doc(doc) if hq == self.cfg.hq_name else None
        except Exception as exc:
            with self._cond:
                self.stats["malformed_acks"] += 1
            if self._time_to_log("malformed"):
                log.warning("ignoring a malformed ack on %s: %.200s", message.topic, exc)
            return
        if ack is None:
            self._foreign(hq)
            return
        with self._cond:
            self._news.append((HEARD, ack))
            self._cond.notify_all()

    def _foreign(self, hq) -> None:
        """An ack of another HQ than ours (or of one too old to name itself): ignored."""
        with self._cond:
            self.stats["foreign_acks"] += 1
        name = repr(hq)[:80]
        if name not in self._foreign_names and len(self._foreign_names) < MAX_FOREIGN_NAMES:
            self._foreign_names.add(name)
            log.warning("ignoring acks from HQ %s on %s: this station trusts only %r "
                        "([sync] hq_name)", name, self.base, self.cfg.hq_name)

    # -- main loop -----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Until stop is set; raises when paho's network thread has ended (nothing would be
        delivered any more, and systemd or cx-station run restarts a failed cx-sync)."""
        self.link.connect_async(self.client)
        self.network.start()
        notify.ready("publishing the outbox")
        try:
            while not stop.is_set():
                self.step()
                if not self.network.alive():
                    log.error("the MQTT network thread ended (%r): stopping", self.network.error)
                    raise RuntimeError("the MQTT network thread ended") from self.network.error
                notify.watchdog()
        finally:
            self.close()
            log.info("stopped: %s", json.dumps(self.stats))

    def close(self) -> None:
        if self._connected and self.network.alive():
            info = self.client.publish(f"{self.base}/{STATUS}", "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                pass
        self.network.stop()

    def step(self) -> None:
        """One round: feed the window what arrived, carry out what it decides, or wait."""
        now = time.monotonic()
        with self._cond:
            news, self._news = self._news, []
            connected, free = self._connected, self.cfg.inflight - len(self._inflight)
        for kind, value in news:
            self._feed(kind, value, now)
        while (lookup := self.window.lookup()) is not None:
            self._carry_out(self.window.looked_up(now, self._outbox_at(lookup)))
        rewind = self.window.tick(now)
        if rewind is not None:
            self._rewound(rewind)
        if connected and now >= self._next_health:
            self._next_health = now + self.cfg.health_interval_s
            self.publish_health(connected)
        # Refill the window in rounds, not per PUBACK: each round costs two outbox queries.
        if connected and free >= min(self._refill, self.cfg.inflight) and self._send(now, free):
            return
        with self._cond:
            self._cond.wait(IDLE_POLL_S)

    def _feed(self, kind: str, value, now: float) -> None:
        if kind == HEARD:
            self.window.heard(value)
        elif kind == PUSHED:
            outcome = receive_push(self.store, self.config, value)
            if outcome.state != "ignored":
                self._next_health = 0.0         # tell HQ at once what became of it
            if outcome.state == "rejected":
                log.warning("refused HQ settings version %s: %s: %s", outcome.version,
                            outcome.key, outcome.reason)
        elif kind == CONNECTED:
            self.stats["connects"] += 1
            self.window.connected(now)
            self._next_health = 0.0
        else:
            self.window.subscribed(at=value)

    def _outbox_at(self, lookup: Lookup) -> OutboxAt:
        last_seq = self.store.outbox_status()["last_seq"] if lookup.last_seq else None
        return OutboxAt(lookup.seq, self.store.outbox_id(lookup.seq), last_seq)

    def _carry_out(self, action) -> None:
        if isinstance(action, MarkAcked):
            self.store.mark_acked(action.seq)
            if action.drained and self._reported_backlog:
                self._next_health = 0.0         # tell HQ at once that the backlog is gone
        elif isinstance(action, Renumber):
            self._renumber(action)
        else:                                   # ResendOwn: the window queued the resend
            self.stats["conflicts"] += 1
            log.warning("HQ refused another event under our seq %d; resending ours", action.seq)

    def _renumber(self, action: Renumber) -> None:
        shift = self.store.renumber_pending(action.after)
        self.stats["renumbered"] += 1
        self.window.outbox_reaches(self.store.outbox_status()["last_seq"])
        if not action.replaced:
            self.stats["conflicts"] += 1
            log.error("HQ holds another event (%s) at our seq %d: someone published under this "
                      "station's name (check the broker ACL). Pending events moved by %d, past "
                      "HQ's seq %d.", action.held_id, action.seq, shift, action.hq_max)
            return
        log.error("HQ's mark %d (event %s) is not from this station database: it replaced "
                  "another one under the same station id. Pending events now follow HQ's seq "
                  "%d (moved by %d).", action.seq, action.held_id, action.after, shift)
        if action.hq_max > action.seq:
            log.error("HQ is missing seqs between %d and %d of the replaced database; its mark "
                      "cannot pass them, so HQ will not confirm this station's new events until "
                      "an operator deals with that gap.", action.seq, action.hq_max)

    def _rewound(self, rewind: Rewind) -> None:
        log.info("HQ's mark stayed at %d for %.0fs with %d sent beyond it: resending",
                 rewind.mark, rewind.idle_s, rewind.outstanding)
        self.stats["rewinds"] += 1
        if rewind.selective:
            self.stats["selective_rewinds"] += 1

    # -- publishing ----------------------------------------------------------------------------
    def _send(self, now: float, free: int) -> bool:
        """Publish what the window asks for; False when there was nothing (then wait)."""
        job = self.window.next_send(now)
        if job is None:
            return False
        if isinstance(job, Resend):
            return self._resend(job, free)
        return self._send_round(job, free)

    def _send_round(self, job: Send, free: int) -> bool:
        threshold = self.cfg.batch_threshold
        if not self._batching:
            # One indexed lookup tells whether the backlog passed the threshold.
            self._batching = bool(self.store.pending_outbox(
                after_seq=max(job.after, job.mark + threshold), limit=1))
        events = self.store.pending_outbox(after_seq=job.after, limit=self._fetch_limit(free))
        if not events:
            return False
        self.window.outbox_reaches(events[-1].seq)
        if self._batching:
            self._batching = events[-1].seq - job.mark > threshold
        sent = self._publish_events(events, free)
        if sent is not None:
            self.window.sent(sent)
        return True

    def _resend(self, hole: Resend, free: int) -> bool:
        """Resend (part of) the first hole HQ listed; the cursor stays where it is."""
        limit = min(self._fetch_limit(free), hole.hi - hole.lo + 1)
        events = [e for e in self.store.pending_outbox(after_seq=hole.lo - 1, limit=limit)
                  if e.seq <= hole.hi]
        if not events:
            self.window.resent(hole.hi)         # none of it is pending any more
            return True
        sent = self._publish_events(events, free)
        if sent is not None:
            self.window.resent(sent)
        return True

    def _fetch_limit(self, free: int) -> int:
        """Outbox rows one round may read for `free` window slots (inflight <= MAX_FETCH)."""
        return min(free * self.cfg.batch_max_events, MAX_FETCH) if self._batching else free

    def _publish_events(self, events, free: int) -> int | None:
        """Publish up to `free` messages of these consecutive events, in order (batches or one
        event each); the last seq handed to the broker, or None when the first publish failed
        (the next round retries from there)."""
        groups = self._batches(events, free) if self._batching else [[e] for e in events[:free]]
        sent = None
        for group in groups:
            if len(group) == 1:
                topic = topic_of(self.cfg.topic_prefix, self.station, group[0].type)
                payload = group[0].payload.encode()
            else:
                topic, payload = f"{self.base}/{BATCH}", batch_payload([e.payload for e in group])
            info = self.client.publish(topic, payload, qos=1)
            if not ok(info.rc):
                # Not connected any more, or paho is out of message ids: the cursor stays
                # before this group and the next round (or reconnect) retries it.
                self.stats["publish_errors"] += 1
                log.debug("publish of seq %d.. failed: %s", group[0].seq, error_text(info.rc))
                return sent
            with self._cond:
                if info.mid in self._early:
                    self._early.discard(info.mid)
                else:
                    self._inflight.add(info.mid)
            sent = group[-1].seq
            self.stats["published_messages"] += 1
            self.stats["published_events"] += len(group)
        return sent

    def _batches(self, events, free: int) -> list[list]:
        groups, group, size = [], [], 2
        for event in events:
            n = len(event.payload) + 1
            if group and (len(group) >= self.cfg.batch_max_events
                          or size + n > self.cfg.batch_max_bytes):
                groups.append(group)
                if len(groups) >= free:
                    return groups
                group, size = [], 2
            group.append(event)
            size += n
        if group:
            groups.append(group)
        return groups[:free]

    # -- health --------------------------------------------------------------------------------
    def health(self, connected: bool) -> dict:
        status = self.store.outbox_status()
        oldest = status["oldest_pending_at"]
        try:
            disk_free = shutil.disk_usage(self.db_dir).free
        except OSError:
            disk_free = None
        return {"ts": time.time(), "connected": connected, "backlog": status["pending"],
                "oldest_unacked_age_s": round(time.time() - oldest, 3) if oldest else None,
                "last_acked_seq": status["last_acked_seq"], "last_acked_at": status["last_acked_at"],
                "last_seq": status["last_seq"], "disk_free_bytes": disk_free,
                "mqtt_version": self.link.version, "versions": versions(),
                "broker_dropped_messages": self._broker_dropped,
                # the HQ settings applied, or the last push refused (key and reason)
                "settings": self.store.health().get(HEALTH_COMPONENT),
                **{k: v for k, v in self.stats.items()}}

    def publish_health(self, connected: bool) -> None:
        data = self.health(connected)
        self._reported_backlog = data["backlog"]
        self.store.put_health("sync", data)
        self.client.publish(f"{self.base}/{HEALTH}", json.dumps(data), qos=1, retain=True)


def versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("cx-station", "paho-mqtt"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out
