"""Issue 12, findings 1 and 6: the outbox and the results store on a real full disk (a tmpfs
of a few hundred KB) and on corrupt files (bad pages, garbage, truncation).

Nothing here may raise into the daemon or lose a result the outbox was given: a full disk
holds results in memory until space returns, a corrupt file is moved aside and what it
still holds is salvaged, and history gives way to the outbox.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from edge.outputs.mqtt.outbox import Outbox
from edge.outputs.store import ResultStore
from edge.testing.mqtt import stride_report

CTX = {"athlete": "ana", "device_id": "pi-track3"}


class Ticks:
    """A monotonic clock the test moves on, past the stores' retry intervals."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def payload(i: int) -> bytes:
    return f'{{"i":{i},"pad":"{"x" * 900}"}}'.encode()


def fill_outbox(path: Path, count: int) -> None:
    box = Outbox(path)
    for i in range(count):
        box.enqueue("t/stride", payload(i), qos=1, retain=False)
    box.close()  # the last connection checkpoints the WAL into the file and removes it


def leaf_pages(path: Path, table: str) -> list[tuple[int, int]]:
    """(page number, rows on it) of the table's leaf pages (SQLite's dbstat table)."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT pageno, ncell FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
        (table,),
    ).fetchall()
    db.close()
    return rows


def smash_pages(path: Path, pages: list[int]) -> None:
    page_size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as f:
        for page in pages:
            f.seek((page - 1) * page_size)
            f.write(os.urandom(page_size))


def aside_files(folder: Path, name: str) -> list[Path]:
    """The corrupt files moved aside (not their -wal/-shm, moved with them)."""
    found = folder.glob(f"{name}.corrupt-*")
    return sorted(p for p in found if not p.name.endswith(("-wal", "-shm", "-journal")))


# --- full disk -----------------------------------------------------------------------------


def test_a_full_disk_keeps_every_result_in_memory_and_writes_them_once_space_returns(
    small_disk,
):
    disk = small_disk(256)
    ticks = Ticks()
    path = disk.path / "outbox.sqlite3"
    box = Outbox(path, monotonic=ticks)
    box.enqueue("t/stride", payload(0), qos=1, retain=False)
    ballast = disk.fill()
    seqs = [box.enqueue("t/stride", payload(i), qos=1, retain=False) for i in range(1, 120)]
    assert seqs == sorted(seqs) and len(box) == 120
    (problem,) = box.problems()
    assert "not writable" in problem and "held in memory" in problem
    # Every result is still there to deliver, in order, from the file and from memory.
    pending = box.pending(limit=500)
    assert [m.payload for m in pending] == [payload(i) for i in range(120)]
    # Delivered ones are forgotten even though the file cannot be told yet.
    box.delete([m.seq for m in pending[:10]])
    assert len(box) == 110 and box.pending(limit=1)[0].payload == payload(10)

    ballast.unlink()  # space returns
    ticks.t += 10
    box.retry()
    assert box.problems() == []
    box.close()
    again = Outbox(path)
    assert [m.payload for m in again.pending(limit=500)] == [payload(i) for i in range(10, 120)]
    again.close()


def test_an_outbox_opened_on_a_full_disk_runs_from_memory(small_disk):
    disk = small_disk(256)
    ticks = Ticks()
    disk.fill()
    path = disk.path / "outbox.sqlite3"
    box = Outbox(path, monotonic=ticks)  # cannot even create its file
    for i in range(30):
        box.enqueue("t/stride", payload(i), qos=1, retain=False)
    assert len(box) == 30 and box.problems()
    assert [m.payload for m in box.pending(limit=50)] == [payload(i) for i in range(30)]
    (disk.path / "ballast").unlink()
    ticks.t += 10
    box.retry()
    assert box.problems() == []
    box.close()
    assert len(Outbox(path)) == 30


def test_history_gives_way_to_the_outbox_on_a_filling_disk(small_disk):
    disk = small_disk(512)
    store = ResultStore(disk.path / "results.sqlite3", min_free_megabytes=0.2)
    box = Outbox(disk.path / "outbox.sqlite3")
    store_paused_at = outbox_full_at = None
    for i in range(400):
        store.record_stride(stride_report(i), session_id="am", **CTX)
        box.enqueue("t/stride", payload(i), qos=1, retain=False)
        if store_paused_at is None and store.problems():
            store_paused_at = i
        if outbox_full_at is None and box.problems():
            outbox_full_at = i
            break
    assert store_paused_at is not None and outbox_full_at is not None
    # The store stopped at its reserve; the outbox went on writing into it.
    assert store_paused_at < outbox_full_at
    assert "kept for the MQTT outbox" in store.problems()[0]
    assert store.not_kept == outbox_full_at - store_paused_at + 1
    assert len(box) == outbox_full_at + 1  # nothing the outbox was given is lost
    box.close()
    store.close()


def test_a_full_disk_pauses_history_without_raising_and_it_resumes(small_disk):
    disk = small_disk(256)
    ticks = Ticks()
    store = ResultStore(disk.path / "results.sqlite3", monotonic=ticks)
    store.record_stride(stride_report(0), session_id="am", **CTX)
    ballast = disk.fill()
    for i in range(1, 40):
        store.record_stride(stride_report(i), session_id="am", **CTX)
    store.start_session("pm", athlete="ben", device_id="pi-track3")
    assert store.problems() and "history paused" in store.problems()[0]
    assert store.not_kept >= 1
    ballast.unlink()
    ticks.t += 60
    store.record_stride(stride_report(40), session_id="am", **CTX)
    assert store.problems() == []
    assert store.strides("am")[-1].index == 40
    store.close()


def test_a_store_opened_on_a_full_disk_starts_and_pauses(small_disk):
    disk = small_disk(256)
    disk.fill()
    ticks = Ticks()
    store = ResultStore(disk.path / "results.sqlite3", monotonic=ticks)
    store.start_session("am", athlete="ana", device_id="pi-track3")
    store.record_stride(stride_report(0), session_id="am", **CTX)
    assert "history paused" in store.problems()[0]
    (disk.path / "ballast").unlink()
    ticks.t += 60
    store.record_stride(stride_report(1), session_id="am", **CTX)
    assert [s.index for s in store.strides("am")] == [1]
    store.close()


def test_keyframes_then_strides_obey_the_disk_budget_oldest_first(tmp_path):
    path = tmp_path / "results.sqlite3"
    store = ResultStore(path, max_megabytes=0.3, keyframes_per_session=1000)
    for i in range(60):
        store.record_keyframe(
            os.urandom(20_000),
            session_id="am",
            device_id="pi-track3",
            stride_index=i,
            cue_id=None,
            time_s=float(i),
        )
        store.record_stride(stride_report(i), session_id="am", **CTX)
    kept = [k.stride_index for k in store.keyframes("am")]
    assert kept and kept == list(range(60 - len(kept), 60)), "the newest keyframes stay"
    assert len(kept) < 60
    assert [s.index for s in store.strides("am")] == list(range(60)), "strides before pictures"
    db = sqlite3.connect(path)
    pages, free, size = (
        db.execute(f"PRAGMA {p}").fetchone()[0]
        for p in ("page_count", "freelist_count", "page_size")
    )
    assert (pages - free) * size <= 0.3e6 + 50 * 21_000  # at most one check interval over
    store.close()


# --- corrupt files -------------------------------------------------------------------------


def test_a_corrupt_outbox_is_moved_aside_and_its_readable_results_are_queued_again(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    fill_outbox(path, 3000)
    leaves = leaf_pages(path, "outbox")
    damaged = leaves[len(leaves) // 3 : len(leaves) // 3 + 3] + leaves[-2:-1]
    smash_pages(path, [page for page, _n in damaged])
    lost = sum(n for _page, n in damaged)

    box = Outbox(path)
    (aside,) = aside_files(tmp_path, "outbox.sqlite3")
    salvaged = box.pending(limit=5000)
    assert len(salvaged) == len(box) == 3000 - lost
    # What came back is intact and in order; only the rows on the smashed pages are gone.
    indices = [int(m.payload[5 : m.payload.index(b",")]) for m in salvaged]
    assert indices == sorted(indices)
    assert all(m.payload == payload(i) for m, i in zip(salvaged, indices, strict=True))
    (problem,) = box.problems()
    assert aside.name in problem and f"{3000 - lost} undelivered result(s) salvaged" in problem
    # The fresh file holds them, and goes on with sequence numbers after theirs.
    new_seq = box.enqueue("t/stride", payload(9999), qos=1, retain=False)
    assert new_seq > salvaged[-1].seq
    box.close()
    assert len(Outbox(path)) == 3000 - lost + 1


def test_garbage_and_truncated_outboxes_are_replaced(tmp_path):
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(os.urandom(50_000))
    box = Outbox(garbage)
    assert len(box) == 0 and aside_files(tmp_path, "garbage.sqlite3")
    assert "0 undelivered result(s) salvaged" in box.problems()[0]
    box.enqueue("t", b"x", qos=1, retain=False)
    box.close()

    truncated = tmp_path / "truncated.sqlite3"
    fill_outbox(truncated, 2000)
    with truncated.open("r+b") as f:
        f.truncate(truncated.stat().st_size // 2)
    box = Outbox(truncated)
    kept = box.pending(limit=5000)
    assert 0 < len(kept) < 2000
    assert all(m.payload.startswith(b'{"i":') for m in kept)
    assert "salvaged" in box.problems()[0]
    box.close()


def test_a_corrupt_results_store_is_moved_aside_and_its_readable_rows_kept(tmp_path):
    path = tmp_path / "results.sqlite3"
    store = ResultStore(path)
    for i in range(1500):
        store.record_stride(stride_report(i), session_id="am", **CTX)
    store.close()
    leaves = leaf_pages(path, "strides")
    damaged = leaves[len(leaves) // 2 : len(leaves) // 2 + 2]
    smash_pages(path, [page for page, _n in damaged])
    lost = sum(n for _page, n in damaged)

    store = ResultStore(path)
    (aside,) = aside_files(tmp_path, "results.sqlite3")
    kept = store.strides("am")
    assert len(kept) == 1500 - lost and store.session("am") is not None
    assert [s.index for s in kept] == sorted(s.index for s in kept)
    (problem,) = store.problems()
    assert aside.name in problem and f"{1500 - lost} strides" in problem
    store.record_stride(stride_report(1500), session_id="am", **CTX)  # writes go on
    assert store.strides("am")[-1].index == 1500
    store.close()
