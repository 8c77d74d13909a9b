"""The durable outbox: order, persistence, bounds with a log line, thread safety."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from edge.outputs.mqtt.outbox import Outbox, OutboxError


def test_fifo_order_and_delete(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    seqs = [box.enqueue("t/a", f"m{i}".encode(), qos=1, retain=i == 2) for i in range(5)]
    assert seqs == sorted(seqs)
    pending = box.pending(limit=3)
    assert [m.payload for m in pending] == [b"m0", b"m1", b"m2"]
    assert pending[2].retain and not pending[0].retain
    assert [m.payload for m in box.pending(after=seqs[2])] == [b"m3", b"m4"]
    box.delete([seqs[0], seqs[2], 999])
    assert len(box) == 3
    assert [m.payload for m in box.pending()] == [b"m1", b"m3", b"m4"]


def test_survives_reopen_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "o.sqlite3"
    box = Outbox(path)
    for i in range(3):
        box.enqueue("t", bytes([i]), qos=1, retain=False)
    box.delete([box.pending(limit=1)[0].seq])
    box.close()
    again = Outbox(path)
    assert len(again) == 2
    assert [m.payload for m in again.pending()] == [b"\x01", b"\x02"]
    new_seq = again.enqueue("t", b"x", qos=1, retain=False)
    assert new_seq > again.pending()[1].seq
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_count_bound_drops_oldest_with_a_log_line(tmp_path: Path, caplog) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_messages=10)
    with caplog.at_level(logging.WARNING, logger="edge.outputs.mqtt.outbox"):
        for i in range(12):
            box.enqueue("t", str(i).encode(), qos=1, retain=False)
    assert len(box) == 10
    assert [m.payload for m in box.pending()] == [str(i).encode() for i in range(2, 12)]
    drops = [r.getMessage() for r in caplog.records if "outbox full" in r.getMessage()]
    assert len(drops) == 2 and "dropped the 1 oldest" in drops[0]


def test_age_bound(tmp_path: Path, caplog) -> None:
    now = [1_000_000.0]
    box = Outbox(tmp_path / "o.sqlite3", max_age_s=3600, clock=lambda: now[0])
    box.enqueue("t", b"old", qos=1, retain=False)
    now[0] += 3000
    box.enqueue("t", b"young", qos=1, retain=False)
    now[0] += 1000  # "old" is now 4000 s old, "young" 1000 s
    with caplog.at_level(logging.WARNING):
        assert box.drop_expired() == 1
    assert [m.payload for m in box.pending()] == [b"young"]
    assert len(box) == 1
    assert any("older than 1.0 h" in r.getMessage() for r in caplog.records)


def test_concurrent_writers_keep_every_message_once(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")

    def write(tag: int) -> None:
        for i in range(100):
            box.enqueue("t", f"{tag}-{i}".encode(), qos=1, retain=False)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    deleter_seen = 0
    while any(t.is_alive() for t in threads) or len(box):
        batch = box.pending(limit=50)
        box.delete(m.seq for m in batch)
        deleter_seen += len(batch)
        if not batch and not any(t.is_alive() for t in threads):
            break
    for t in threads:
        t.join()
    assert deleter_seen == 400
    assert len(box) == 0


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutboxError, match="cannot open the MQTT outbox"):
        Outbox(blocker / "o.sqlite3")
