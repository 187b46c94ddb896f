"""Who is logged in to the dashboard: passwords, sessions, CSRF tokens and lockout.

    gate = Gate(config.web, clock=time.time)
    session = gate.login("ana", "secret", client="10.0.0.7")   # None, or raises Locked
    gate.session(token)            # the Session behind a cookie, or None (unknown, expired)
    gate.csrf_ok(session, form_token)

Sessions live in this process's memory: a restart logs everyone out, which is the safe side.
A token is 256 random bits (secrets.token_urlsafe), so a forged cookie names no session. Every
session has its own CSRF token, compared in constant time on every POST.

Lockout: `lockout_failures` wrong passwords in a row for one username, or from one client
address, lock that username or address for `lockout_minutes` (both are counted, so neither
guessing one user's password from many addresses nor many users' from one address works).
A success clears the username's and the address's count.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from station.pin import hash_secret, verify_pin

# Checked when the username is unknown, so a wrong username costs the same scrypt time as a
# wrong password and response times do not tell which usernames exist.
_DUMMY_HASH = hash_secret(secrets.token_hex(16))


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
        self.failures: dict[str, tuple[int, float]] = {}   # key -> (count, locked until)

    # -- logging in ------------------------------------------------------------------------------
    def login(self, username: str, password: str, client: str) -> Session | None:
        keys = (f"user:{username}", f"addr:{client}")
        now = self.clock()
        locked = max((self.failures.get(k, (0, 0.0))[1] for k in keys), default=0.0)
        if locked > now:
            raise Locked(locked - now)
        user = self.users.get(username)
        ok = verify_pin(password, user.password_hash if user else _DUMMY_HASH)
        if not (ok and user):
            for key in keys:
                count = self.failures.get(key, (0, 0.0))[0] + 1
                until = now + 60 * self.web.lockout_minutes \
                    if count >= self.web.lockout_failures else 0.0
                self.failures[key] = (0 if until else count, until)
            return None
        for key in keys:
            self.failures.pop(key, None)
        self._forget_expired(now)
        session = Session(secrets.token_urlsafe(32), user.username, user.role,
                          secrets.token_urlsafe(32), now + self.web.session_lifetime_s)
        self.sessions[session.token] = session
        return session

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
