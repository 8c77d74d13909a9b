"""Does `trackside run` hold its memory over a long session?

Runs the real daemon as a child process on a clip looped and paced in real time (as a
camera would deliver it), publishing to a real Mosquitto on loopback with the LEDs on mock
pins, samples its resident memory (VmRSS) every few seconds, then stops it with SIGTERM and
prints the memory curve, the peak, and the growth between the first and last thirds.

    python scripts/bench_soak.py [--minutes 10] [--clip CLIP]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.testing.mosquitto import Broker  # noqa: E402


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clip", default=str(REPO.parent / "shared/media/movup_run_treadmill.mp4"))
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="trackside-soak-"))
    broker = Broker(workdir / "broker")
    broker.start()
    config = workdir / "trackside.toml"
    config.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\ndevice_id = "soak"\n'
        f'outbox_path = "{workdir / "outbox.sqlite3"}"\n[feedback]\npin_factory = "mock"\n'
        f'[results]\npath = "{workdir / "results.sqlite3"}"\n'
        '[logging]\nlevel = "warning"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge",
            "--config",
            str(config),
            "run",
            "--source",
            args.clip,
            "--loop",
            "--realtime",
        ],
        env=env,
    )
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.minutes * 60:
            if child.poll() is not None:
                print(f"daemon exited early with {child.returncode}")
                return 1
            value = rss_mb(child.pid)
            if value is not None:
                samples.append((time.monotonic() - started, value))
            time.sleep(args.every)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
        broker.stop()

    # Growth is judged after a 30 s warm-up (imports, model, first buffers filling).
    steady = [s for s in samples if s[0] >= 30.0] or samples
    third = max(1, len(steady) // 3)
    first = sum(v for _, v in steady[:third]) / third
    last = sum(v for _, v in steady[-third:]) / third
    peak_t, peak = max(samples, key=lambda s: s[1])
    print(f"{args.minutes:g} min looped real-time replay of {Path(args.clip).name}")
    for t, v in samples[:: max(1, len(samples) // 20)]:
        print(f"  {t:7.0f} s  {v:7.1f} MB")
    print(
        f"peak RSS {peak:.1f} MB at {peak_t:.0f} s; after warm-up, mean of the first third "
        f"{first:.1f} MB, "
        f"last third {last:.1f} MB: growth {last - first:+.1f} MB "
        f"({100 * (last - first) / first:+.1f}%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
