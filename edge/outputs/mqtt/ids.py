"""Message ids: unique, and sortable by creation time (ULID layout).

26 Crockford base-32 characters: 48 bits of milliseconds since the Unix epoch, then 80
random bits.  Within one millisecond the random part is incremented, so ids made by one
:class:`MessageIds` always sort in the order they were made.  Consumers de-duplicate on the
whole string; sorting is a convenience, not a guarantee across devices.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80


def encode_id(millis: int, randomness: int) -> str:
    """The 26-character id for a millisecond time and an 80-bit random number."""
    value = (millis << _RANDOM_BITS) | randomness
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class MessageIds:
    """A thread-safe source of monotonic ULID-style ids."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        entropy: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._clock = clock
        self._entropy = entropy
        self._lock = threading.Lock()
        self._last_millis = -1
        self._last_random = 0

    def new(self) -> str:
        with self._lock:
            millis = int(self._clock() * 1000)
            if millis <= self._last_millis:
                # Same (or an earlier, after a clock step) millisecond: keep sorting order.
                millis = self._last_millis
                randomness = (self._last_random + 1) % (1 << _RANDOM_BITS)
            else:
                randomness = int.from_bytes(self._entropy(10), "big")
            self._last_millis, self._last_random = millis, randomness
            return encode_id(millis, randomness)
