"""Who may look and who may command: one password, a signed cookie, constant-time checks.

Policy (see ``docs/dashboard.md``):

* no password (only allowed on a loopback bind): everything is open to whoever can reach
  the port, i.e. people logged in to the device;
* a password on a loopback bind: the page is open, commands need the password;
* a network bind (a password is then required): the page and commands need it.

A browser logs in once (``POST /api/login``) and gets an ``HttpOnly``, ``SameSite=Strict``
cookie signed with HMAC-SHA256 under a key made at start-up (a restart logs everyone out).
Scripts may send HTTP Basic credentials instead (any user name).  Passwords are compared by
their SHA-256 digests with :func:`hmac.compare_digest`, so neither length nor content leaks
through timing.

Password guessing is throttled the same way on both paths (the login form and Basic
credentials on any request), by :class:`LoginThrottle`: per client address, a few typos are
free, then every further failure locks that address out for twice as long as the last,
and while it is locked no password from it is even checked (the request is answered 429).
Every failure is logged with the address and the path; a password never is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from http.cookies import CookieError, SimpleCookie

log = logging.getLogger(__name__)

COOKIE_NAME = "trackside_auth"
COOKIE_LIFETIME_S = 12 * 3600

# Failures from one address before it is locked out: enough for a coach's typos.
FREE_FAILURES = 5
# The first lock-out, doubled on every further failure up to the longest.  With these a
# guesser gets about 60 tries an hour from one address instead of ~600 a second.
FIRST_LOCK_S = 1.0
LONGEST_LOCK_S = 60.0
# Addresses remembered at most (the oldest are forgotten first): bounded memory.
TRACKED_CLIENTS = 1024


class Login(Enum):
    """What a request's credentials came to."""

    NONE = "none"  # no credentials (or only an expired/forged cookie)
    OK = "ok"
    FAILED = "failed"  # a wrong password
    THROTTLED = "throttled"  # not checked: the address is locked out for now


@dataclass
class _Client:
    failures: int = 0
    locked_until: float = 0.0
    refused: int = 0  # attempts refused while locked, not yet logged


class LoginThrottle:
    """Failed logins per client address, and the lock-outs they bring (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try a password again (0: now).  A refused attempt is
        counted and logged once per lock-out."""
        with self._lock:
            state = self._clients.get(client)
            if state is None:
                return 0.0
            wait = state.locked_until - self._clock()
            if wait <= 0:
                if state.refused:
                    self._log_refused(client, state)
                return 0.0
            state.refused += 1
            if state.refused == 1:
                log.warning(
                    "dashboard: login attempts from %s refused for %.0f s more "
                    "(%d wrong passwords in a row)",
                    client,
                    wait,
                    state.failures,
                )
            return wait

    def failed(self, client: str, via: str) -> None:
        with self._lock:
            state = self._clients.pop(client, None) or _Client()
            self._clients[client] = state
            while len(self._clients) > TRACKED_CLIENTS:
                self._clients.popitem(last=False)
            state.failures += 1
            lock = 0.0
            if state.failures > FREE_FAILURES:
                doublings = min(state.failures - FREE_FAILURES - 1, 16)
                lock = min(LONGEST_LOCK_S, FIRST_LOCK_S * 2**doublings)
                state.locked_until = self._clock() + lock
            log.warning(
                "dashboard: failed login (%s) from %s: %d failure(s) in a row%s",
                via,
                client,
                state.failures,
                f"; locked out for {lock:g} s" if lock else "",
            )

    def succeeded(self, client: str) -> None:
        with self._lock:
            state = self._clients.pop(client, None)
            if state is not None and state.refused:
                self._log_refused(client, state)

    @staticmethod
    def _log_refused(client: str, state: _Client) -> None:
        log.warning(
            "dashboard: %d login attempt(s) from %s refused while it was locked out",
            state.refused,
            client,
        )
        state.refused = 0


class Auth:
    """Checks a request's credentials; ``password`` ``None`` means no password is set."""

    def __init__(
        self,
        password: str | None,
        *,
        loopback: bool,
        clock: Callable[[], float] = time.time,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self._digest = None if password is None else hashlib.sha256(password.encode()).digest()
        self._key = secrets.token_bytes(32)
        self._clock = clock
        self.loopback = loopback
        self.throttle = throttle or LoginThrottle()

    @property
    def password_set(self) -> bool:
        return self._digest is not None

    @property
    def view_needs_login(self) -> bool:
        return self.password_set and not self.loopback

    def check_password(self, candidate: str) -> bool:
        if self._digest is None:
            return False
        return hmac.compare_digest(hashlib.sha256(candidate.encode()).digest(), self._digest)

    # --- cookies ---------------------------------------------------------------------------

    def _sign(self, expiry: int) -> str:
        return hmac.new(self._key, str(expiry).encode(), hashlib.sha256).hexdigest()

    def make_cookie(self) -> str:
        """The ``Set-Cookie`` value for a browser that just gave the right password."""
        expiry = int(self._clock()) + COOKIE_LIFETIME_S
        return (
            f"{COOKIE_NAME}={expiry}.{self._sign(expiry)}; Max-Age={COOKIE_LIFETIME_S}; "
            "Path=/; HttpOnly; SameSite=Strict"
        )

    @staticmethod
    def clear_cookie() -> str:
        return f"{COOKIE_NAME}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"

    def _cookie_ok(self, header: str | None) -> bool:
        if not header:
            return False
        try:
            cookie = SimpleCookie(header)
        except CookieError:
            return False
        morsel = cookie.get(COOKIE_NAME)
        if morsel is None or "." not in morsel.value:
            return False
        expiry_text, signature = morsel.value.split(".", 1)
        if not expiry_text.isdigit() or int(expiry_text) < self._clock():
            return False
        return hmac.compare_digest(signature, self._sign(int(expiry_text)))

    @staticmethod
    def _basic_password(header: str) -> str | None:
        if not header.startswith("Basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        _user, _, password = decoded.partition(":")
        return password

    def _attempt(self, password: str | None, client: str, via: str) -> Login:
        """One password attempt from ``client``, throttled and logged."""
        if self.throttle.retry_after(client) > 0:
            return Login.THROTTLED
        if password is not None and self.check_password(password):
            self.throttle.succeeded(client)
            return Login.OK
        self.throttle.failed(client, via)
        return Login.FAILED

    # --- decisions -------------------------------------------------------------------------

    def authenticate(
        self, cookie_header: str | None, authorization: str | None, client: str = "?"
    ) -> Login:
        """What the request's credentials are worth: a valid cookie, else Basic credentials
        (a password attempt like the login form's), else none."""
        if not self.password_set or self._cookie_ok(cookie_header):
            return Login.OK
        if authorization:
            return self._attempt(self._basic_password(authorization), client, "basic")
        return Login.NONE

    def form_login(self, password: object, client: str) -> Login:
        """A password from the login form (anything but a string counts as wrong)."""
        return self._attempt(password if isinstance(password, str) else None, client, "form")

    def logged_in(
        self, cookie_header: str | None, authorization: str | None, client: str = "?"
    ) -> bool:
        """Whether the request carries valid credentials (always ``True`` with no password)."""
        return self.authenticate(cookie_header, authorization, client) is Login.OK

    def may_view(self, cookie_header: str | None, authorization: str | None) -> bool:
        return not self.view_needs_login or self.logged_in(cookie_header, authorization)

    def may_command(self, cookie_header: str | None, authorization: str | None) -> bool:
        return self.logged_in(cookie_header, authorization)
