"""cx-sync: publish the station outbox to HQ until HQ itself confirms each event.

    sender = Sender(config, Store.open(config))
    sender.run(stop=threading.Event())     # until stop is set (SIGTERM in cx-sync)

Delivery is counted end to end: a PUBACK only frees a slot in our in-flight window, because
mosquitto may drop a message it acknowledged (queue limits, a crash between snapshots). HQ
publishes, retained, the highest seq it committed with no gap below it on
``<prefix>/<station>/ack``; only that mark moves outbox rows to acked. After a reconnect, or
when the mark stops advancing for ``ack_timeout_s``, the sender rewinds to the mark and
publishes again; HQ drops the duplicates. Where HQ's ack lists the holes below its highest seq
(``gaps``), that resend is selective: the holes, then whatever HQ may not have seen past its
highest seq, not everything after the mark again. The timeout doubles (up to 30 min) while HQ says
nothing at all (it is down: do not flood the broker) and stays short while HQ keeps
publishing an unmoving mark (it is alive but has holes). A mark that does not name an event
of this database (it replaced another one under the same station id) makes the sender renumber
its pending events after HQ's seqs instead (see ``_follow``). Only acks of the HQ this station
trusts (``hq_name``) count: another HQ on the same broker (a test HQ, a second demo) must not
move the window or make the sender renumber.

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
from sync.envelope import ACK, BATCH, HEALTH, STATUS, batch_payload, is_int
from sync.mqtt import Link, NetworkLoop, error_text, ok

log = logging.getLogger("cx-sync")
IDLE_POLL_S = 0.02              # how often an idle sender looks for new outbox rows
MAX_ACK_TIMEOUT_S = 1800.0
STUCK_ROUNDS = 8                # resend rounds without progress before backing off anyway
MAX_FETCH = 20_000              # outbox rows read per round in batch mode
SYS_DROPPED = "$SYS/broker/publish/messages/dropped"
# After a (re)connect nothing is published until HQ's retained ack had its chance to arrive
# (the broker sends it right behind the SUBACK): a database that replaced another one under
# the same station id must learn that before it reuses seqs HQ already holds.
RETAINED_ACK_WAIT_S = 0.5
SUBACK_WAIT_S = 5.0             # a broker that never answers the subscription does not block us
MAX_SEQ = 2 ** 62               # HQ refuses seqs above it; renumbering after it fits SQLite
LOG_EVERY_S = 60.0              # one line a minute per kind of bad input: it must not fill the disk
MAX_FOREIGN_NAMES = 100         # foreign HQ names remembered (each logged once)


def link_for_station(config) -> Link:
    s, st = config.sync, config.station
    return Link(client_id=f"cx-sync-{st.org}-{st.store}-{st.id}", host=s.broker_host,
                port=s.broker_port, version=s.mqtt_version, keepalive=s.keepalive_s, tls=s.tls,
                ca_file=s.ca_file, cert_file=s.cert_file, key_file=s.key_file,
                credentials_file=s.credentials_file,
                allow_plaintext_credentials=s.allow_plaintext_credentials)


class Sender:
    """Outbox → MQTT with an end-to-end acknowledged window. One instance per process."""

    def __init__(self, config, store, link: Link | None = None):
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
        self._epoch = 0                  # bumps on every CONNACK
        self._inflight: set[int] = set()  # mids published, PUBACK not yet seen
        self._early: set[int] = set()     # PUBACKs that beat publish() returning
        self._hq_mark = 0
        self._hq_mark_id: str | None = None   # the event id HQ holds at its mark
        self._hq_max = 0                      # the highest seq HQ holds (gaps or not)
        # HQ's holes above its mark, as of the freshest ack: (mark, ((lo, hi), ...), more listed?)
        self._hq_gaps: tuple[int, tuple[tuple[int, int], ...], bool] | None = None
        self._hq_conflict: tuple[int, str] | None = None   # [seq, id HQ holds] right above
        self._ack_sub_mid: int | None = None
        self._sub_epoch = 0                   # epoch whose ack subscription was answered...
        self._sub_at = 0.0                    # ...and when (monotonic)
        self._ack_epoch = 0                   # epoch in which an ack last arrived
        self._broker_dropped: int | None = None
        self._acks_heard = 0             # ack messages, advancing or not: HQ is alive
        # Network thread only.
        self._logged_at: dict[str, float] = {}
        self._foreign_names: set[str] = set()
        # Main thread only.
        status = store.outbox_status()
        self.acked = status["last_acked_seq"] or 0
        self.cursor = self.acked          # last seq handed to the broker in this epoch
        self._seen_epoch = 0
        self._mark_moved_at = time.monotonic()
        self._ack_timeout = self.cfg.ack_timeout_s
        self._next_health = 0.0
        self._batching = False
        self._acks_at_rewind = 0
        self._backed_off_silent = False   # the timeout grew because HQ said nothing
        self._stuck_rounds = 0
        self._reported_backlog = 0
        self._refill = max(1, self.cfg.inflight // 4)
        self._repair: list[list[int]] = []   # [lo, hi] holes to resend before going on from cursor
        self._gaps_at_rewind: tuple | None = None
        self._conflict_handled: tuple[int, str] | None = None
        self._max_seen = status["last_seq"]
        self._epoch_started = time.monotonic()
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
            self._epoch += 1
            self._inflight.clear()
            self._early.clear()
            self._cond.notify_all()
        _rc, mid = client.subscribe(f"{self.base}/{ACK}", qos=1)
        with self._cond:
            self._ack_sub_mid = mid
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
                self._sub_epoch, self._sub_at = self._epoch, time.monotonic()
        if any(getattr(code, "is_failure", False) for code in reason_codes):
            log.warning("the broker refused a subscription (%s): check its ACL", reason_codes)

    def _on_message(self, client, userdata, message):
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
            ack = _ack(doc) if hq == self.cfg.hq_name else None
        except Exception as exc:
            with self._cond:
                self.stats["malformed_acks"] += 1
            if self._time_to_log("malformed"):
                log.warning("ignoring a malformed ack on %s: %.200s", message.topic, exc)
            return
        if ack is None:
            self._foreign(hq)
            return
        seq, top, event_id, gaps, more, conflict = ack
        with self._cond:
            self._acks_heard += 1
            self._ack_epoch = self._epoch
            if seq > self._hq_mark:
                self._hq_mark, self._hq_mark_id = seq, event_id
                self._cond.notify_all()
            self._hq_max = max(self._hq_max, top)
            if seq >= self._hq_mark and gaps is not None:
                self._hq_gaps = (seq, gaps, more)
            if seq >= self._hq_mark:
                self._hq_conflict = conflict

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
        """One round: take HQ's mark, maybe rewind, publish what the window allows, or wait."""
        now = time.monotonic()
        with self._cond:
            connected, epoch, hq_mark = self._connected, self._epoch, self._hq_mark
            hq_mark_id, hq_max, hq_gaps = self._hq_mark_id, self._hq_max, self._hq_gaps
            hq_conflict = self._hq_conflict
            acks_heard = self._acks_heard
            free = self.cfg.inflight - len(self._inflight)
            settled = self._ack_epoch == epoch or (
                self._sub_epoch == epoch and now - self._sub_at >= RETAINED_ACK_WAIT_S)
        if hq_mark > self.acked and not self._ours(hq_mark, hq_mark_id):
            self._follow(hq_mark, hq_mark_id, hq_max)
        if hq_mark > self.acked:
            self.store.mark_acked(hq_mark)
            self.acked = hq_mark
            self._mark_moved_at = now
            self._ack_timeout = self.cfg.ack_timeout_s
            self._stuck_rounds = 0
            if self.acked >= self._max_seen and self._reported_backlog:
                self._next_health = 0.0         # tell HQ at once that the backlog is gone
        if epoch != self._seen_epoch:
            self._seen_epoch = epoch
            self.stats["connects"] += 1
            self.cursor = self.acked
            self._repair = []
            self._mark_moved_at = now
            self._epoch_started = now
            self._next_health = 0.0
        if hq_conflict and hq_conflict[0] == self.acked + 1 and \
                hq_conflict != self._conflict_handled:
            self._conflict_handled = hq_conflict
            self._settle(*hq_conflict, hq_max)
        settled = settled or now - self._epoch_started >= SUBACK_WAIT_S
        self.cursor = max(self.cursor, self.acked)
        if self.cursor == self.acked and not self._repair:
            self._mark_moved_at = now           # nothing outstanding: nothing to time out
        elif now - self._mark_moved_at > self._ack_timeout:
            log.info("HQ's mark stayed at %d for %.0fs with %d sent beyond it: resending",
                     self.acked, now - self._mark_moved_at, self.cursor - self.acked)
            self.stats["rewinds"] += 1
            self._rewind(hq_gaps, hq_max)
            self._conflict_handled = None       # a resend that settles one may have been lost
            self._mark_moved_at = now
            # Holes HQ filled since the last round are progress too, even if the first one
            # (which holds the mark) is still open.
            self._stuck_rounds = 0 if hq_gaps is not None and hq_gaps != self._gaps_at_rewind \
                else self._stuck_rounds + 1
            self._gaps_at_rewind = hq_gaps
            if acks_heard == self._acks_at_rewind or self._stuck_rounds > STUCK_ROUNDS:
                # HQ said nothing since the last round (it is down), or resending keeps not
                # helping (a seq HQ refuses): back off, do not flood the broker.
                self._ack_timeout = min(self._ack_timeout * 2, MAX_ACK_TIMEOUT_S)
                self._backed_off_silent = acks_heard == self._acks_at_rewind
            else:
                # HQ is committing but has holes (a broker drop, a dead receiver's share).
                self._ack_timeout = self.cfg.ack_timeout_s
            self._acks_at_rewind = acks_heard
        if self._backed_off_silent and acks_heard != self._acks_at_rewind:
            # HQ speaks again (restarted, or brand new and never sent what the broker dropped
            # before it subscribed): resend on the short timeout, not the backed-off one.
            self._backed_off_silent = False
            self._ack_timeout = self.cfg.ack_timeout_s
        if connected and now >= self._next_health:
            self._next_health = now + self.cfg.health_interval_s
            self.publish_health(connected)
        # Refill the window in rounds, not per PUBACK: each round costs two outbox queries.
        if connected and settled and free >= min(self._refill, self.cfg.inflight) and \
                self._publish_some(free):
            return
        with self._cond:
            self._cond.wait(IDLE_POLL_S)

    def _rewind(self, hq_gaps, hq_max: int) -> None:
        """Go back for what HQ lacks. With HQ's holes at our mark known: those holes, then on
        from the last seq HQ is known to hold (its highest, or the end of the last hole listed
        when it lists only the first ones). Else (an older HQ): everything after the mark."""
        if hq_gaps is None or hq_gaps[0] != self.acked:
            self.cursor, self._repair = self.acked, []
            return
        _mark, gaps, more = hq_gaps
        self.cursor = max(self.acked, min(self.cursor, gaps[-1][1] if more and gaps else hq_max))
        self._repair = [[lo, min(hi, self.cursor)] for lo, hi in gaps if lo <= self.cursor]
        self.stats["selective_rewinds"] += 1

    def _ours(self, hq_mark: int, hq_mark_id: str | None) -> bool:
        """Whether HQ's mark names an event of this database: the seq exists here and, when HQ
        says which event it holds there, with that id."""
        if hq_mark > self._max_seen:
            self._max_seen = max(self._max_seen, self.store.outbox_status()["last_seq"])
            if hq_mark > self._max_seen:
                return False
        return hq_mark_id is None or self.store.outbox_id(hq_mark) == hq_mark_id

    def _follow(self, hq_mark: int, hq_mark_id: str | None, hq_max: int) -> None:
        """This database replaced another one under the same station id, and HQ holds the old
        one's seqs: renumber our pending events to follow them rather than reuse them (HQ
        would dead-letter them as conflicts, and its mark would then claim them delivered)."""
        after = max(hq_mark, hq_max)
        shift = self._renumber(after, hq_mark)
        log.error("HQ's mark %d (event %s) is not from this station database: it replaced "
                  "another one under the same station id. Pending events now follow HQ's seq "
                  "%d (moved by %d).", hq_mark, hq_mark_id, after, shift)
        if hq_max > hq_mark:
            log.error("HQ is missing seqs between %d and %d of the replaced database; its mark "
                      "cannot pass them, so HQ will not confirm this station's new events until "
                      "an operator deals with that gap.", hq_mark, hq_max)

    def _settle(self, seq: int, held_id: str, hq_max: int) -> None:
        """HQ got two events under `seq` and holds `held_id` there; its mark waits below seq.
        Ours: the other was someone else's, and resending ours settles it. Not ours: someone
        published under this station's name first, so our pending events move past HQ's
        seqs (HQ settles it when our event arrives there)."""
        self.stats["conflicts"] += 1
        if self.store.outbox_id(seq) == held_id:
            log.warning("HQ refused another event under our seq %d; resending ours", seq)
            self._repair.insert(0, [seq, seq])
            return
        shift = self._renumber(max(self.acked, hq_max), self.acked)
        log.error("HQ holds another event (%s) at our seq %d: someone published under this "
                  "station's name (check the broker ACL). Pending events moved by %d, past "
                  "HQ's seq %d.", held_id, seq, shift, hq_max)

    def _renumber(self, after: int, mark: int) -> int:
        shift = self.store.renumber_pending(after)
        self.stats["renumbered"] += 1
        # HQ holds everything up to its mark: start from there.
        self.acked = self.cursor = mark
        self._repair = []
        self._max_seen = self.store.outbox_status()["last_seq"]
        self._mark_moved_at = time.monotonic()
        return shift

    def _publish_some(self, free: int) -> bool:
        while self._repair and self._repair[0][1] <= self.acked:
            self._repair.pop(0)                 # filled meanwhile: HQ's mark passed it
        if self._repair:
            return self._publish_repair(free)
        threshold = self.cfg.batch_threshold
        if not self._batching:
            # One indexed lookup tells whether the backlog passed the threshold.
            self._batching = bool(self.store.pending_outbox(
                after_seq=max(self.cursor, self.acked + threshold), limit=1))
        limit = self._fetch_limit(free)
        events = self.store.pending_outbox(after_seq=self.cursor, limit=limit)
        if not events:
            return False
        self._max_seen = max(self._max_seen, events[-1].seq)
        if self._batching:
            self._batching = events[-1].seq - self.acked > threshold
        sent = self._publish_events(events, free)
        if sent is not None:
            self.cursor = sent
        return True

    def _publish_repair(self, free: int) -> bool:
        """Resend (part of) the first hole HQ listed; the cursor stays where it is."""
        hole = self._repair[0]
        lo = max(hole[0], self.acked + 1)
        limit = min(self._fetch_limit(free), hole[1] - lo + 1)
        events = [e for e in self.store.pending_outbox(after_seq=lo - 1, limit=limit)
                  if e.seq <= hole[1]]
        if not events:
            self._repair.pop(0)
            return True
        sent = self._publish_events(events, free)
        if sent is not None:
            hole[0] = sent + 1
            if hole[0] > hole[1]:
                self._repair.pop(0)
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
                topic, payload = group[0].topic, group[0].payload.encode()
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
                **{k: v for k, v in self.stats.items()}}

    def publish_health(self, connected: bool) -> None:
        data = self.health(connected)
        self._reported_backlog = data["backlog"]
        self.store.put_health("sync", data)
        self.client.publish(f"{self.base}/{HEALTH}", json.dumps(data), qos=1, retain=True)


def _ack(doc: dict) -> tuple[int, int, str | None, tuple | None, bool, tuple | None]:
    """An ack's fields checked: (mark, HQ's highest seq, event id at the mark, gaps, more gaps
    than listed, conflict). Raises ValueError or KeyError."""
    seq = doc["acked_seq"]
    if not _is_seq(seq, 0):
        raise ValueError(f"acked_seq {seq!r:.80}")
    # Older HQs send the mark alone.
    top, event_id = doc.get("max_seq", seq), doc.get("id")
    if not _is_seq(top, seq):
        raise ValueError(f"max_seq {top!r:.80}")
    if event_id is not None and not isinstance(event_id, str):
        raise ValueError(f"id {event_id!r:.80}")
    return (seq, top, event_id, _gaps(doc.get("gaps"), seq, top), doc.get("gaps_more") is True,
            _conflict(doc.get("conflict"), seq))


def _conflict(value, mark: int) -> tuple[int, str] | None:
    """An ack's `conflict` checked: [seq, id] of the event HQ holds right above its mark where
    another event arrived under the same seq. None when absent."""
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and value[0] == mark + 1
            and is_int(value[0]) and isinstance(value[1], str)):
        raise ValueError(f"conflict {str(value)[:80]!r}")
    return value[0], value[1]


def _is_seq(value, low: int) -> bool:
    """A seq no lower than `low` that a renumbering after it keeps inside SQLite's INTEGER."""
    return is_int(value) and low <= value <= MAX_SEQ


def _gaps(value, mark: int, top: int) -> tuple[tuple[int, int], ...] | None:
    """An ack's `gaps` checked: ascending, disjoint [lo, hi] ranges inside (mark, top). None when
    absent (an older HQ)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"gaps {str(value)[:80]!r}")
    out, floor = [], mark
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(map(is_int, item))
                and floor < item[0] <= item[1] < top):
            raise ValueError(f"gap {str(item)[:80]!r}")
        out.append((item[0], item[1]))
        floor = item[1]
    return tuple(out)


def versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("cx-station", "paho-mqtt"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out
