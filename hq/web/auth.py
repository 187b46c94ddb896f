"""Who is logged in to the dashboard: passwords, sessions, CSRF tokens and lockout.

    gate = Gate(config.web, clock=time.time)
    session = gate.login("ana", "secret", client="10.0.0.7")   # None, or raises Locked
    gate.session(token)            # the Session behind a cookie, or None (unknown, expired)
    gate.csrf_ok(session, form_token)

Sessions live in this process's memory: a restart logs everyone out, which is the safe side.
A token is 256 random bits (secrets.token_urlsafe), so a forged cookie names no session. Every
session has its own CSRF token, compared in constant time on every POST.

Lockout: `lockout_failures` wrong passwords within `lockout_minutes` for one username, or from
one client address, lock that username or address for `lockout_minutes` (both are counted, so
neither guessing one user's password from many addresses nor many users' from one address
works). A success clears the username's and the address's count.
"""
from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass

from station.pin import hash_secret, verify_pin

# Checked when the username is unknown, so a wrong username costs the same scrypt time as a
# wrong password and response times do not tell which usernames exist.
_DUMMY_HASH = hash_secret(secrets.token_hex(16))
MAX_TRACKED = 100_000      # usernames and addresses with recent failures held in memory


class Locked(Exception):
    """Too many failures: the message says for how long (the same for user and address)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"locked for {seconds / 60:.0f} more minutes")


@dataclass
class Session:
    token: str
    username: str
    role: str
    csrf: str
    expires: float

    @property
    def admin(self) -> bool:
        return self.role == "admin"


class Gate:
    def __init__(self, web, clock):
        self.web, self.clock = web, clock
        self.users = {u.username: u for u in web.users}
        self.sessions: dict[str, Session] = {}
        # key -> (failures in the window, first of them, locked until)
        self.failures: dict[str, tuple[int, float, float]] = {}
        self.lock = threading.Lock()

    # -- logging in ------------------------------------------------------------------------------
    def login(self, username: str, password: str, client: str) -> Session | None:
        """The new session, None for a wrong username or password; raises Locked. One check at
        a time (thread-safe): parallel guesses cannot slip past the count before it locks."""
        keys = (f"user:{username}", f"addr:{client}")
        with self.lock:
            now = self.clock()
            locked = max(self.failures.get(k, (0, 0.0, 0.0))[2] for k in keys)
            if locked > now:
                raise Locked(locked - now)
            user = self.users.get(username)
            if not (verify_pin(password, user.password_hash if user else _DUMMY_HASH) and user):
                self._failed(keys, now)
                return None
            for key in keys:
                self.failures.pop(key, None)
            self._forget_expired(now)
            session = Session(secrets.token_urlsafe(32), user.username, user.role,
                              secrets.token_urlsafe(32), now + self.web.session_lifetime_s)
            self.sessions[session.token] = session
            return session

    def _failed(self, keys, now: float) -> None:
        """Count a failure against the username and the address; failures older than the
        lockout window are forgotten, so a typo a week ago does not count today."""
        window = 60 * self.web.lockout_minutes
        for key in keys:
            count, first, _ = self.failures.get(key, (0, now, 0.0))
            if now - first > window:
                count, first = 0, now
            count += 1
            if count >= self.web.lockout_failures:
                self.failures[key] = (0, now, now + window)
            else:
                self.failures[key] = (count, first, 0.0)
        if len(self.failures) > MAX_TRACKED:       # many names or addresses: keep it bounded
            stale = [k for k, (_, first, until) in self.failures.items()
                     if until <= now and now - first > window]
            for key in stale or sorted(self.failures, key=lambda k: self.failures[k][1])[
                    :len(self.failures) // 2]:
                del self.failures[key]

    def logout(self, session: Session) -> None:
        self.sessions.pop(session.token, None)

    # -- every request ---------------------------------------------------------------------------
    def session(self, token: str | None) -> Session | None:
        session = self.sessions.get(token or "")
        if session is None:
            return None
        if session.expires <= self.clock() or session.username not in self.users:
            self.sessions.pop(session.token, None)
            return None
        return session

    @staticmethod
    def csrf_ok(expected: str | None, given) -> bool:
        return bool(expected) and isinstance(given, str) and hmac.compare_digest(
            expected.encode(), given.encode())

    def _forget_expired(self, now: float) -> None:
        for token in [t for t, s in self.sessions.items() if s.expires <= now]:
            del self.sessions[token]
