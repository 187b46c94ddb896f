"""The store's record of settings pushed from HQ (Store inherits it; station/remote_settings.py
decides what is applied).

    applied = store.applied_settings()        # AppliedSettings | None: the newest applied push
    store.record_settings(7, "applied", time.time(), pushed_at, "alice", text, old=previous)

Every push the station heard is a row: applied ones with the settings before them (old ->
new), refused ones with the key and reason. The applied row with the highest version is what
the kiosk and cx-watch lay over the TOML.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppliedSettings:
    version: int
    settings: str               # JSON, as HQ sent it
    received_at: float
    pushed_at: str | None
    who: str | None


class PushedSettings:
    """Mixed into Store: needs its db and transaction()."""

    def applied_settings(self) -> AppliedSettings | None:
        row = self.db.execute(
            "SELECT version, settings, received_at, pushed_at, who FROM hq_settings "
            "WHERE state = 'applied' ORDER BY version DESC LIMIT 1").fetchone()
        return AppliedSettings(*row) if row else None

    def settings_refused_before(self, version: int | None, text: str) -> bool:
        """Whether this very message was refused already (a retained one comes back at every
        reconnect: one refusal, one alert)."""
        return self.db.execute(
            "SELECT 1 FROM hq_settings WHERE state = 'rejected' AND version IS ? AND "
            "settings = ?", (version, text)).fetchone() is not None

    def record_settings(self, version: int | None, state: str, at: float, pushed_at: str | None,
                        who: str | None, settings: str, old: str | None = None,
                        error_key: str | None = None, error: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO hq_settings (version, state, received_at, pushed_at, who, "
                "settings, old_settings, error_key, error) VALUES (?,?,?,?,?,?,?,?,?)",
                (version, state, at, pushed_at, who, settings, old, error_key, error))

    def settings_history(self, limit: int = 50) -> list[dict]:
        """The newest pushes heard, applied and refused, for the audit."""
        cols = ("version", "state", "received_at", "pushed_at", "who", "settings",
                "old_settings", "error_key", "error")
        rows = self.db.execute(f"SELECT {', '.join(cols)} FROM hq_settings "
                               "ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(zip(cols, row)) for row in rows]
