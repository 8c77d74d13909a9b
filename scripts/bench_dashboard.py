#!/usr/bin/env python3
"""Soak benchmark of the dashboard: 3 devices at full rate for N minutes.

Starts a real Mosquitto on a free loopback port and the dashboard in a child process, then
publishes from ``--devices`` simulated Trackside devices (real :class:`MqttPublisher`\\ s): a
stride every ``--stride-period`` s each, status every 5 s and a keyframe every 5 s.  An SSE
client (what a browser's ``EventSource`` does) measures the time from ``publish_stride()``
to the stride's event arriving.  Prints the dashboard process's RSS at the start and the end
(and its peak), and the latency median / p95 / max per minute and overall.

    python scripts/bench_dashboard.py --minutes 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


from edge.outputs.mqtt import MqttPublisher  # noqa: E402
from edge.outputs.mqtt.payloads import DeviceStatus, Keyframe  # noqa: E402
from edge.testing.dashboard import SseClient, publisher_config  # noqa: E402
from edge.testing.mosquitto import Broker, free_port  # noqa: E402
from edge.testing.mqtt import alert, stride_report  # noqa: E402

CHILD = """
import signal, sys, threading
sys.path.insert(0, {repo!r})
from edge.dashboard import Dashboard, DashboardConfig, resolve_dashboard
from edge.outputs.mqtt import MqttConfig, resolve
settings = resolve_dashboard(DashboardConfig(port={port}))
mqtt = resolve(MqttConfig(host="127.0.0.1", port={broker}, device_id="bench-dashboard"))
d = Dashboard(settings, mqtt)
d.start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("ready", flush=True)
stop.wait()
d.stop()
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--stride-period", type=float, default=0.35)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    broker = Broker(work / "broker")
    broker.start()
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(repo=str(REPO), port=port, broker=broker.port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    url = f"http://127.0.0.1:{port}/"
    publishers = []
    for n in range(args.devices):
        p = MqttPublisher(publisher_config(broker.port, f"bench-pi-{n}", work / f"ob{n}"))
        p.start()
        assert p.link.wait_connected(10)
        p.set_session(f"bench-{n}", athlete="ana")
        publishers.append(p)
    jpeg = _keyframe()
    sse = SseClient(url + "events")
    sse.wait_for(lambda ev: bool(ev))
    time.sleep(1.0)
    rss_start = rss_mb(child.pid)
    sent: dict[str, float] = {}
    stop = threading.Event()

    def device(n: int, publisher: MqttPublisher) -> None:
        i = 0
        next_at = time.monotonic()
        last_slow = 0.0
        while not stop.is_set():
            now = time.monotonic()
            sent[publisher.publish_stride(stride_report(i))] = time.monotonic()
            if now - last_slow >= 5.0:
                last_slow = now
                publisher.publish_status(DeviceStatus("running", fps=9.5, inference_ms=90.0))
                publisher.publish_keyframe(
                    Keyframe(
                        jpeg,
                        stride_index=i,
                        cue_id="arms.elbows_back",
                        time_s=float(i),
                        verdict="fault",
                        message="Elbows",
                    )
                )
                publisher.publish_alert(alert(active=(i // 20) % 2 == 0))
            i += 1
            next_at += args.stride_period
            stop.wait(max(0.0, next_at - time.monotonic()))

    threads = [
        threading.Thread(target=device, args=(n, p), daemon=True) for n, p in enumerate(publishers)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    peak = rss_start
    minute_marks: list[tuple[int, float, int]] = []
    deadline = started + args.minutes * 60
    while time.monotonic() < deadline:
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        peak = max(peak, rss_mb(child.pid))
        minute = int((time.monotonic() - started) // 60)
        if not minute_marks or minute_marks[-1][0] != minute:
            minute_marks.append((minute, rss_mb(child.pid), len(sse.events)))
    stop.set()
    for t in threads:
        t.join()
    time.sleep(2.0)  # let the last events arrive
    rss_end = rss_mb(child.pid)
    cpu_s = cpu_seconds(child.pid)
    page_ok = urllib.request.urlopen(url + "api/state", timeout=10).status == 200

    latencies: list[tuple[float, float]] = []  # (seconds since start, latency ms)
    for arrived, kind, data in sse.events:
        if kind == "stride" and data["row"]["message_id"] in sent:
            t0 = sent[data["row"]["message_id"]]
            latencies.append((t0 - started, (arrived - t0) * 1000))
    sse.close()
    for p in publishers:
        p.stop()
    child.terminate()
    child.wait(timeout=10)
    broker.stop()

    ms = [lat for _, lat in latencies]
    print(
        f"devices {args.devices}, a stride every {args.stride_period} s each, "
        f"{args.minutes:g} min; strides published {len(sent)}, received {len(ms)} "
        f"({100 * len(ms) / max(1, len(sent)):.1f} %)"
    )
    print(
        f"dashboard RSS: start {rss_start:.1f} MB, end {rss_end:.1f} MB, peak {peak:.1f} MB "
        f"(end/start {rss_end / rss_start:.2f})"
    )
    for minute, rss, _events in minute_marks:
        window = [lat for t, lat in latencies if minute * 60 <= t < (minute + 1) * 60]
        if window:
            print(
                f"  minute {minute:2d}: RSS {rss:6.1f} MB, latency median "
                f"{statistics.median(window):6.1f} ms, p95 {pct(window, 0.95):6.1f} ms, "
                f"max {max(window):6.1f} ms"
            )
    if ms:
        print(
            f"publish → SSE event latency: median {statistics.median(ms):.1f} ms, "
            f"p95 {pct(ms, 0.95):.1f} ms, max {max(ms):.1f} ms"
        )
    print(f"page still answering at the end: {page_ok}")
    elapsed = time.monotonic() - started
    print(
        f"dashboard CPU: {cpu_s:.1f} s over {elapsed:.0f} s "
        f"({100 * cpu_s / elapsed:.1f} % of one core; {os.cpu_count()} cores here)"
    )


def _keyframe() -> bytes:
    import cv2
    import numpy as np

    image = np.full((360, 640, 3), 120, np.uint8)
    ok, buffer = cv2.imencode(".jpg", image)
    assert ok
    return buffer.tobytes()


if __name__ == "__main__":
    main()
