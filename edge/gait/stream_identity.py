"""The stream's online leg-identity check: notice, from the rhythm, that the tracks swapped legs.

Legs alternate: two strikes in a row on the same limb *track* only a step apart (a missed
strike would leave a stride) mean continuity lost the legs in between.  This is the online
counterpart of :func:`edge.gait.batch.repair_leg_swaps`: from then on the near/far labels
(and the depth history) follow the legs, not the tracks, and the strike that revealed it
is labelled that way too.

It compares tracks, never emitted labels: a label also changes when the near/far decision
does, and a label-based check would then "repair" every following strike (each repair
making the next strike look like the same leg again).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edge.gait.timing import MAX_STEP_TIME


@dataclass
class RhythmIdentity:
    """Whether limb tracks A and B have exchanged legs since the stream started."""

    flipped: bool = False
    step_times: deque[float] = field(default_factory=lambda: deque(maxlen=9))
    last_track: int | None = None  # limb track (0 = A) of the latest strike
    last_time: float = float("nan")

    def strike(self, track: int, when: float) -> bool:
        """Record a strike of limb track ``track`` at ``when``; ``True`` when it reveals a
        swap (and :attr:`flipped` has changed)."""
        prev_track, gap = self.last_track, when - self.last_time
        self.last_track, self.last_time = track, when
        if prev_track is None or not gap > 0:
            return False
        if prev_track != track:
            if gap <= MAX_STEP_TIME:
                self.step_times.append(gap)
            return False
        if len(self.step_times) >= 3 and gap < 1.5 * float(np.median(self.step_times)):
            self.flipped = not self.flipped
            return True
        return False
