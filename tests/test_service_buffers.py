"""Frame hand-off: the camera never waits, the newest frame wins, memory stays bounded."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from edge.service.buffers import FrameRing, LatestFrame, frame_nbytes
from edge.types import Frame


def frame(index: int, *, size=(48, 64), lores=None) -> Frame:
    image = np.full((*size, 3), index % 256, np.uint8)
    small = None if lores is None else np.zeros((*lores, 3), np.uint8)
    return Frame(image=image, timestamp=index / 30, index=index, inference_image=small)


def test_latest_frame_keeps_only_the_newest_and_counts_drops():
    slot = LatestFrame()
    for i in range(5):
        slot.put(frame(i))
    taken = slot.take(timeout=0)
    assert taken is not None and taken.index == 4
    assert slot.dropped == 4 and slot.put_count == 5
    assert slot.take(timeout=0) is None  # nothing new
    slot.put(frame(5))
    assert slot.take(timeout=0).index == 5
    assert slot.dropped == 4  # a frame taken in time is not a drop


def test_take_wakes_when_a_frame_arrives_and_on_close():
    slot = LatestFrame()
    got: list[Frame | None] = []
    waiter = threading.Thread(target=lambda: got.append(slot.take(timeout=10)))
    waiter.start()
    slot.put(frame(7))
    waiter.join(timeout=10)
    assert not waiter.is_alive() and got[0].index == 7

    closer = threading.Thread(target=lambda: got.append(slot.take(timeout=10)))
    closer.start()
    slot.close()
    closer.join(timeout=10)
    assert not closer.is_alive() and got[1] is None


def test_ring_drops_oldest_beyond_its_byte_budget():
    one = frame_nbytes(frame(0))
    ring = FrameRing(max_bytes=3 * one)
    for i in range(10):
        ring.append(frame(i))
    assert len(ring) == 3 and ring.nbytes == 3 * one
    frames, dropped = ring.drain()
    assert [f.index for f in frames] == [7, 8, 9]
    assert dropped == 7
    assert len(ring) == 0 and ring.nbytes == 0 and ring.drain() == ([], 0)


def test_ring_counts_the_inference_image_too():
    f = frame(0, size=(100, 100), lores=(10, 10))
    assert frame_nbytes(f) == 100 * 100 * 3 + 10 * 10 * 3
    ring = FrameRing(max_bytes=frame_nbytes(f) * 2 - 1)
    ring.append(f)
    ring.append(frame(1, size=(100, 100), lores=(10, 10)))
    assert len(ring) == 1 and ring.dropped == 1


def test_ring_keeps_a_single_oversized_frame():
    ring = FrameRing(max_bytes=10)
    ring.append(frame(0))
    assert len(ring) == 1


def test_ring_rejects_a_non_positive_budget():
    with pytest.raises(ValueError):
        FrameRing(0)


def test_lossless_slot_makes_the_producer_wait_for_each_frame():
    slot = LatestFrame(lossless=True)
    taken: list[int] = []

    def consume():
        while (f := slot.take(timeout=10)) is not None:
            taken.append(f.index)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(200):
        slot.put(frame(i))
    slot.close()
    consumer.join(timeout=10)
    assert taken[-1] == 199 and slot.dropped == 0
    assert taken == list(range(len(taken)))
