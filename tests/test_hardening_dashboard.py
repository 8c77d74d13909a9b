"""Issue 12, findings 2-5 and 7: the dashboard as an attacker or a broken device meets it.

Every attack is reproduced for real: raw sockets speaking (bad) HTTP, a real Mosquitto
carrying the device messages and the commands, the dashboard in a child process where its
memory is measured, and Debian's Chromium where a browser is the attacker's tool.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.server
import json
import logging
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from dashboard_helpers import chromium

from edge.dashboard.auth import FREE_FAILURES
from edge.dashboard.server import HEAD_TIMEOUT_S
from edge.outputs.mqtt.payloads import Envelope, encode, status_payload, stride_payload
from edge.outputs.store import ResultStore
from edge.testing.dashboard import DashboardProcess, SseClient, start_dashboard
from edge.testing.mqtt import Subscriber, stride_report

DEVICE = "trackside/pi-a"


def web(
    url: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data, headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def raw(port: int, data: bytes, *, source: str = "127.0.0.1", timeout: float = 10.0) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it (or timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout, (source, 0)) as sock:
        sock.sendall(data)
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def announce(broker_port: int, *devices: str) -> Subscriber:
    """Make devices known to the dashboard (an availability message each)."""
    feeder = Subscriber(broker_port, ["unused/#"])
    for device in devices:
        feeder.publish(f"{device}/availability", b"online")
    return feeder


def wait_known(url: str, *devices: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = json.loads(web(url + "api/state")[2])
        if {d["key"] for d in state["devices"]} >= set(devices):
            return
        time.sleep(0.05)
    raise TimeoutError(f"dashboard never saw {devices}")


def post_from(source: str, port: int, path: str, data: dict) -> int:
    """A JSON POST from another local address (another machine on the track's Wi-Fi)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(source, 0))
    try:
        conn.request("POST", path, json.dumps(data), {"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def marker_command(url: str, commands: Subscriber) -> list[str]:
    """Send one legitimate command and wait for it: every command the dashboard published
    before it has reached the broker by then (one client, in order).  Returns the topics
    of the commands seen."""
    status, _h, body = web(
        url + "api/command",
        json.dumps(
            {"device": DEVICE, "command": "select_athlete", "args": {"athlete": "ben"}}
        ).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 202, body
    topic = f"{DEVICE}/cmd/select_athlete"
    got = commands.wait_for(lambda ms: any(t == topic for t, _p, _r in ms))
    return [t for t, _p, _r in got if not t.endswith("/cmd/result")]


# --- finding 2: cross-site commands --------------------------------------------------------


SMUGGLED = (
    "POST /api/command HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    "Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{body}"
)


def smuggled_request(port: int) -> str:
    body = json.dumps({"device": DEVICE, "command": "stop_session", "args": {}})
    return SMUGGLED.format(port=port, length=len(body), body=body)


def test_a_body_is_never_parsed_as_a_second_request(broker):
    dashboard = start_dashboard(broker.port)
    feeder = announce(broker.port, DEVICE)
    commands = Subscriber(broker.port, [f"{DEVICE}/cmd/#"])
    try:
        wait_known(dashboard.url, DEVICE)
        inner = smuggled_request(dashboard.port).encode()
        for outer in (
            # A text/plain body the server refuses without reading: it used to stay on
            # the connection and be parsed as the next request.
            b"POST /api/command HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(inner), inner),
            b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(inner), inner),
            b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s"
            % (len(inner), inner),
        ):
            # A request after it on the same connection, to see how the body was framed.
            reply = raw(dashboard.port, outer + b"GET /api/auth HTTP/1.1\r\nHost: x\r\n\r\n")
            statuses = [int(s) for s in re.findall(rb"HTTP/1.1 (\d{3}) ", reply)]
            # The outer request's reply, then the follower's (421: unknown host, close):
            # the smuggled request was read as the body it is, never answered as a request.
            assert len(statuses) == 2 and statuses[1] == 421, reply
            assert statuses[0] in (200, 400), reply
        seen = marker_command(dashboard.url, commands)
        assert f"{DEVICE}/cmd/stop_session" not in seen
    finally:
        commands.close()
        feeder.close()
        dashboard.stop()


def test_a_page_on_another_origin_cannot_command_the_device_from_a_real_browser(broker):
    dashboard = start_dashboard(broker.port)
    feeder = announce(broker.port, DEVICE)
    commands = Subscriber(broker.port, [f"{DEVICE}/cmd/#"])
    attack = AttackerSite(
        f"""<script>
        const target = "http://127.0.0.1:{dashboard.port}/api/command";
        const command = JSON.stringify({{device: "{DEVICE}", command: "stop_session", args: {{}}}});
        Promise.allSettled([
          // the smuggling attack of the issue: a "simple" no-cors POST whose body is a request
          fetch(target, {{method: "POST", mode: "no-cors",
                          headers: {{"Content-Type": "text/plain"}},
                          body: {json.dumps(smuggled_request(dashboard.port))}}}),
          // and the plain cross-site command, with and without a JSON content type
          fetch(target, {{method: "POST", mode: "no-cors", body: command}}),
          fetch(target, {{method: "POST", headers: {{"Content-Type": "application/json"}},
                          body: command}}),
        ]).then(() => {{ document.title = "sent"; }});
        </script>"""
    )
    try:
        wait_known(dashboard.url, DEVICE)
        with chromium() as driver:
            driver.get(attack.url)
            deadline = time.monotonic() + 20
            while driver.title != "sent":
                assert time.monotonic() < deadline, "the attacker's page never finished"
                time.sleep(0.05)
        seen = marker_command(dashboard.url, commands)
        assert f"{DEVICE}/cmd/stop_session" not in seen
    finally:
        attack.close()
        commands.close()
        feeder.close()
        dashboard.stop()


class AttackerSite:
    """A page served from another origin (``localhost`` on another port)."""

    def __init__(self, html: str) -> None:
        page = html.encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *_args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://localhost:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_dns_rebinding_is_refused_in_a_real_browser_and_allowed_names_work(broker, tmp_path):
    dashboard = DashboardProcess(
        broker.port, tmp_path / "dashboard.log", allowed_hosts=["trackside.lan"]
    )
    try:
        # Chromium resolves both names to this machine, as a rebinding DNS server would.
        rules = "MAP evil.test 127.0.0.1, MAP trackside.lan 127.0.0.1"
        with chromium(f"--host-resolver-rules={rules}") as driver:
            driver.get(f"http://evil.test:{dashboard.port}/api/state")
            assert "unknown host name" in driver.page_source
            driver.get(f"http://evil.test:{dashboard.port}/")
            assert "unknown host name" in driver.page_source
            driver.get(f"http://trackside.lan:{dashboard.port}/")
            assert "Trackside" in driver.title
            driver.get(f"http://127.0.0.1:{dashboard.port}/api/state")
            assert '"devices"' in driver.page_source
        # And by hand: a foreign Host with a matching Origin (the rebinding pair) is refused.
        reply = raw(
            dashboard.port,
            b"POST /api/command HTTP/1.1\r\nHost: evil.test\r\nOrigin: http://evil.test\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        )
        assert reply.startswith(b"HTTP/1.1 421 ")
    finally:
        dashboard.stop()


# --- finding 3: unauthenticated resource exhaustion ----------------------------------------


def test_bad_content_lengths_are_refused_and_memory_stays_bounded(broker, tmp_path):
    dashboard = DashboardProcess(broker.port, tmp_path / "dashboard.log")
    try:
        before = dashboard.rss_mb()
        head = b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        for length, status in ((b"-1", b"400"), (b"abc", b"400"), (b"400000000", b"413")):
            with socket.create_connection(("127.0.0.1", dashboard.port), 10) as sock:
                sock.sendall(head + b"Content-Length: " + length + b"\r\n\r\n")
                reply = sock.recv(4096)
                assert reply.startswith(b"HTTP/1.1 " + status), reply
                # The attacker goes on sending (the 400 MB): the server closed.
                sent = 0
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    while sent < 200_000_000:
                        sock.sendall(b"x" * 1_000_000)
                        sent += 1_000_000
                assert sent < 200_000_000, "the server kept reading"
        grew = dashboard.rss_mb() - before
        assert grew < 10, f"RSS grew {grew:.1f} MB"
        assert "Traceback" not in dashboard.log_text()
        # Still serving.
        assert web(dashboard.url + "api/auth")[0] == 200
    finally:
        dashboard.stop()


def slow_clients(port: int, count: int, source: str) -> list[socket.socket]:
    """Connections that begin a request and never finish it (slowloris)."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), 10, (source, 0))
        sock.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(sock)
    return socks


def test_300_slow_clients_and_200_idle_ones_do_not_stop_the_page(broker, tmp_path):
    # Caps raised so that every attacking connection is held: the page must answer anyway.
    dashboard = DashboardProcess(
        broker.port,
        tmp_path / "dashboard.log",
        max_connections=1024,
        max_connections_per_client=1024,
    )
    attackers: list[socket.socket] = []
    try:
        threads_before = dashboard.threads()
        attackers = slow_clients(dashboard.port, 300, "127.0.0.2")
        attackers += [
            socket.create_connection(("127.0.0.1", dashboard.port), 10, ("127.0.0.3", 0))
            for _ in range(200)
        ]
        started = time.monotonic()
        assert web(dashboard.url + "api/state")[0] == 200
        assert web(dashboard.url)[0] == 200
        # No thread per connection: 500 held connections, the same threads.
        assert dashboard.threads() <= threads_before + 2
        # The slow ones trickle a byte every half second and are still dropped once their
        # head is HEAD_TIMEOUT_S old.
        slow = attackers[:300]
        for sock in slow:
            sock.setblocking(False)
        open_ = set(range(len(slow)))
        while open_ and time.monotonic() - started < HEAD_TIMEOUT_S + 10:
            for i in list(open_):
                try:
                    if slow[i].recv(4096) == b"":
                        open_.discard(i)
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    open_.discard(i)
                    continue
                with contextlib.suppress(OSError):
                    slow[i].send(b"a")
            time.sleep(0.5)
        assert not open_, f"{len(open_)} slow connection(s) still held"
    finally:
        for sock in attackers:
            sock.close()
        dashboard.stop()


def test_connections_over_the_caps_are_refused_and_others_still_served(broker, tmp_path):
    dashboard = DashboardProcess(broker.port, tmp_path / "dashboard.log")  # default caps
    attackers: list[socket.socket] = []
    try:
        # One attacking address gets its 32 connections, and a 503 beyond them.
        attackers = slow_clients(dashboard.port, 100, "127.0.0.2")
        refused = 0
        for sock in attackers:
            sock.settimeout(5)
            with contextlib.suppress(TimeoutError):
                if sock.recv(4096).startswith(b"HTTP/1.1 503"):
                    refused += 1
            if refused == 100 - 32:
                break
        assert refused == 100 - 32
        # Attackers on many addresses fill the 256 in all: then a newcomer takes the place
        # of the connection that waited longest without a whole request.
        for n in range(10):
            attackers += slow_clients(dashboard.port, 30, f"127.0.1.{n + 1}")
        for _ in range(5):
            assert web(dashboard.url + "api/state")[0] == 200
        log = dashboard.log_text()
        assert "refused" in log and "waiting connection(s) closed to make room" in log
    finally:
        for sock in attackers:
            sock.close()
        dashboard.stop()


# --- finding 4: a NaN in one retained message ---------------------------------------------


def test_a_retained_nan_never_blanks_the_other_devices_even_after_a_restart(broker, caplog):
    feeder = Subscriber(broker.port, ["unused/#"])
    good = encode(status_payload(Envelope("pi-good", "01" + "0" * 24, 0.0), state="idle"))
    bad = good.replace(b'"state":"idle"', b'"state":"idle","fps":NaN').replace(
        b"pi-good", b"pi-bad"
    )
    stride = encode(stride_payload(Envelope("pi-bad", "02" + "0" * 24, 0.0), stride_report(3)))
    overflow = stride.replace(b'"cadence_spm":171.43', b'"cadence_spm":1e999')
    for topic, payload in (
        ("trackside/pi-good/status", good),
        ("trackside/pi-bad/status", bad),
        ("trackside/pi-bad/stride", overflow),
    ):
        feeder.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    try:
        for _restart in range(2):  # the retained NaN is there again at every start
            with caplog.at_level(logging.WARNING, logger="edge.dashboard.state"):
                dashboard = start_dashboard(broker.port)
                try:
                    wait_known(dashboard.url, "trackside/pi-good")
                    state = json.loads(web(dashboard.url + "api/state")[2])
                    assert [d["key"] for d in state["devices"]] == ["trackside/pi-good"]
                    sse = SseClient(dashboard.url + "events")
                    events = sse.wait_for(lambda ev: any(k == "snapshot" for _, k, _ in ev))
                    snapshot = next(d for _, k, d in events if k == "snapshot")
                    assert [d["key"] for d in snapshot["devices"]] == ["trackside/pi-good"]
                    sse.close()
                finally:
                    dashboard.stop()
            reasons = [r.getMessage() for r in caplog.records]
            assert any("pi-bad/status" in m and "NaN" in m for m in reasons)
            assert any("pi-bad/stride" in m and "1e999" in m for m in reasons)
            caplog.clear()
    finally:
        for topic in ("trackside/pi-good/status", "trackside/pi-bad/status"):
            feeder.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        feeder.client.publish("trackside/pi-bad/stride", b"", qos=1, retain=True)
        feeder.close()


def test_non_finite_numbers_are_refused_at_every_json_boundary_with_the_reason(broker):
    from edge.outputs.mqtt.commands import CommandRouter
    from edge.outputs.mqtt.payloads import decode

    for text in ("NaN", "Infinity", "-Infinity", "1e999"):
        with pytest.raises(ValueError, match=r"non-finite|out of range"):
            decode(f'{{"x": {text}}}')
    # In: a device's command...
    outcome = CommandRouter().handle("set_cue", b'{"cue_id": "arms.elbows_back", "enabled": NaN}')
    assert not outcome.ok and "non-finite number NaN" in outcome.reason
    # ...and a request to the dashboard.
    dashboard = start_dashboard(broker.port)
    feeder = announce(broker.port, DEVICE)
    try:
        wait_known(dashboard.url, DEVICE)
        status, _h, body = web(
            dashboard.url + "api/command",
            b'{"device": "trackside/pi-a", "command": "set_cue", "args": {"x": NaN}}',
            {"Content-Type": "application/json"},
        )
        assert status == 400 and json.loads(body)["reason"] == "invalid JSON"
    finally:
        feeder.close()
        dashboard.stop()
    # Out: the payload encoder refuses them (the builders write null instead).
    with pytest.raises(ValueError):
        encode({"fps": float("nan")})


# --- finding 5: password guessing ----------------------------------------------------------


def test_200_wrong_passwords_are_throttled_and_logged_on_both_login_paths(broker, tmp_path):
    dashboard = DashboardProcess(
        broker.port, tmp_path / "dashboard.log", bind="127.0.0.1", password="right-horse"
    )
    try:
        url = dashboard.url
        started = time.monotonic()
        outcomes = []
        command = json.dumps({"device": DEVICE, "command": "stop_session"}).encode()
        for i in range(200):
            basic = base64.b64encode(f"coach:guess{i}".encode()).decode()
            headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/json"}
            outcomes.append(web(url + "api/command", command, headers)[0])
        basic_s = time.monotonic() - started
        checked = outcomes.count(401)  # a password looked at and refused
        assert outcomes.count(429) == 200 - checked
        # The free typos, then one more check each time a doubling lock-out ran out.
        assert FREE_FAILURES < checked <= FREE_FAILURES + 6, outcomes
        # Locked out: even the right password is not checked now.
        right = base64.b64encode(b"coach:right-horse").decode()
        headers = {"Authorization": f"Basic {right}", "Content-Type": "application/json"}
        assert web(url + "api/command", command, headers)[0] == 429

        # The login form is throttled the same way (here from another address).
        form_started = time.monotonic()
        form = [
            post_from("127.0.0.5", dashboard.port, "/api/login", {"password": f"guess{i}"})
            for i in range(200)
        ]
        form_s = time.monotonic() - form_started
        form_checked = form.count(401)
        assert form.count(429) == 200 - form_checked
        assert FREE_FAILURES < form_checked <= FREE_FAILURES + 6, form
        log = dashboard.log_text()
        assert log.count("failed login (basic) from 127.0.0.1") == checked
        assert "login attempts from 127.0.0.1 refused for" in log
        assert "login attempts from 127.0.0.5 refused for" in log
        assert log.count("failed login (form) from 127.0.0.5") == form_checked
        assert "right-horse" not in log and "guess1" not in log
        print(
            f"throttling: basic {checked} of 200 guesses checked in {basic_s:.1f} s, "
            f"form {form_checked} of 200 in {form_s:.1f} s"
        )
    finally:
        dashboard.stop()


def test_the_login_form_is_throttled_per_address_and_a_right_password_works_after(broker):
    dashboard = start_dashboard(broker.port, bind="127.0.0.1", password="right-horse")
    try:
        url = dashboard.url + "api/login"
        headers = {"Content-Type": "application/json"}
        outcomes = [
            web(url, json.dumps({"password": f"guess{i}"}).encode(), headers)[0]
            for i in range(FREE_FAILURES + 3)
        ]
        assert outcomes[:FREE_FAILURES] == [401] * FREE_FAILURES
        assert 429 in outcomes[FREE_FAILURES:]
        auth = dashboard.server.app.auth
        # Once the lock-out runs out (bounded wait on its own clock), the right one works.
        deadline = time.monotonic() + 10
        while auth.throttle.retry_after("127.0.0.1") > 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        status, headers_, _ = web(url, json.dumps({"password": "right-horse"}).encode(), headers)
        assert status == 200 and "trackside_auth=" in headers_["Set-Cookie"]
    finally:
        dashboard.stop()


# --- finding 7: what the log and the error pages give away ---------------------------------


def test_no_password_reaches_the_log_at_debug_level(broker, tmp_path):
    secret = "s3cret-horse-battery"
    dashboard = DashboardProcess(
        broker.port, tmp_path / "dashboard.log", log_level="debug", password=secret
    )
    try:
        body = json.dumps({"password": secret + "x"}).encode()
        web(dashboard.url + "api/login", body, {"Content-Type": "application/json"})
        bad = base64.b64encode(f"coach:{secret}x".encode()).decode()
        web(dashboard.url + "api/state", headers={"Authorization": f"Basic {bad}"})
        # Malformed requests carrying the secret: in the request line, a header, a body.
        raw(dashboard.port, f'{{"password":"{secret}"}}\r\n\r\n'.encode())
        raw(dashboard.port, f"GET /?password={secret} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        raw(
            dashboard.port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: {secret}\x00\r\n\r\n".encode()
        )
        raw(
            dashboard.port,
            f"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n"
            f'{{"password":"{secret}"}}'.encode(),
        )
        ok = base64.b64encode(f"coach:{secret}".encode()).decode()
        assert web(dashboard.url + "api/state", headers={"Authorization": f"Basic {ok}"})[0] in (
            200,
            429,
        )
        log = dashboard.log_text()
        assert "DEBUG" in log and "malformed request" in log
        assert secret not in log and base64.b64encode(secret.encode()).decode()[:12] not in log
    finally:
        dashboard.stop()


def test_error_pages_name_no_file_path_or_session(broker, tmp_path):
    results = tmp_path / "secret-folder" / "results.sqlite3"
    store = ResultStore(results)
    store.start_session("s-latest-42", athlete="ana", device_id="pi-a")
    store.close()
    dashboard = start_dashboard(broker.port, results_path=results)
    try:
        for path in (
            "report/x",
            "report/x.csv",
            "report/..%2f..%2fetc",
            "nope",
            "keyframe?device=z",
        ):
            status, _h, body = web(dashboard.url + path)
            assert status == 404, path
            text = body.decode()
            assert "secret-folder" not in text and "s-latest-42" not in text, (path, text)
        assert web(dashboard.url + "report/s-latest-42")[0] == 200
    finally:
        dashboard.stop()


def test_a_corrupt_results_store_gives_empty_lists_not_a_dropped_connection(broker, tmp_path):
    results = tmp_path / "results.sqlite3"
    results.write_bytes(b"garbage" * 1000)
    dashboard = start_dashboard(broker.port, results_path=results)
    try:
        status, _h, body = web(dashboard.url + "api/sessions")
        assert status == 200 and json.loads(body) == {"sessions": []}
        status, _h, body = web(dashboard.url + "report/s-1")
        assert status == 404 and str(tmp_path) not in body.decode()
    finally:
        dashboard.stop()


def test_set_cue_with_a_cue_that_does_not_exist_is_refused(tmp_path):
    from edge.analysis import RunAnalyzer
    from edge.config import Config
    from edge.outputs.mqtt.commands import CommandRouter
    from edge.service.sessions import SessionControl, route_commands
    from edge.service.sinks import FanOut, Outputs
    from edge.service.status import Stats

    config = Config()
    sessions = SessionControl(
        config,
        RunAnalyzer(config.cues),
        Outputs(FanOut()),
        Stats(),
        now=lambda: 0.0,
    )
    router = CommandRouter()
    route_commands(router, sessions)
    refused = router.handle("set_cue", b'{"cue_id": "legs.moonwalk", "enabled": false}')
    assert not refused.ok and 'no cue "legs.moonwalk"' in refused.reason
    accepted = router.handle("set_cue", b'{"cue_id": "posture.run_tall", "enabled": false}')
    assert accepted.ok
