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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

COOKIE_NAME = "trackside_auth"
COOKIE_LIFETIME_S = 12 * 3600


class Auth:
    """Checks a request's credentials; ``password`` ``None`` means no password is set."""

    def __init__(
        self, password: str | None, *, loopback: bool, clock: Callable[[], float] = time.time
    ) -> None:
        self._digest = None if password is None else hashlib.sha256(password.encode()).digest()
        self._key = secrets.token_bytes(32)
        self._clock = clock
        self.loopback = loopback

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

    def _basic_ok(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        _user, _, password = decoded.partition(":")
        return self.check_password(password)

    # --- decisions -------------------------------------------------------------------------

    def logged_in(self, cookie_header: str | None, authorization: str | None) -> bool:
        """Whether the request carries valid credentials (always ``True`` with no password)."""
        if not self.password_set:
            return True
        return self._cookie_ok(cookie_header) or self._basic_ok(authorization)

    def may_view(self, cookie_header: str | None, authorization: str | None) -> bool:
        return not self.view_needs_login or self.logged_in(cookie_header, authorization)

    def may_command(self, cookie_header: str | None, authorization: str | None) -> bool:
        return self.logged_in(cookie_header, authorization)
