"""The coach's view, end to end: the real daemon on a real clip, a real Mosquitto, the
dashboard, and Debian's headless Chromium.

``trackside run`` (a child process, as systemd runs it) analyses the treadmill clip in a
loop with MoveNet, publishes to the broker and keeps its results and pass clips on disk;
the dashboard follows the broker and reads that disk.  The page must show one headline
per runner, never contradict itself, name the athlete a coach starts a session for, go
offline cleanly when the daemon stops, play the pass clip frame by frame, and list the
athlete's sessions.  Screenshots at a phone and a laptop size go to
``$TRACKSIDE_TEST_ARTIFACTS`` (default ``tests/artifacts/``, which ignores itself in git).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from dashboard_helpers import chromium, real_run

from edge.outputs.store import ResultStore
from edge.outputs.store_sink import StoreSink
from edge.testing.dashboard import start_dashboard
from edge.testing.mqtt import Subscriber

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TRACKSIDE_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
DEVICE = "pi-coach"
CARD = f'[data-device="trackside/{DEVICE}"]'

pytestmark = [pytest.mark.media, pytest.mark.model]


def _config(tmp_path: Path, port: int, clip: Path) -> Path:
    config = tmp_path / "trackside.toml"
    config.write_text(
        f"""
[source]
input = "{clip}"
[mqtt]
host = "127.0.0.1"
port = {port}
device_id = "{DEVICE}"
keepalive = 5
outbox_path = "{tmp_path / "outbox.sqlite3"}"
homeassistant = false
[results]
path = "{tmp_path / "results.sqlite3"}"
clip_seconds = 4.0
[feedback]
pin_factory = "mock"
[service]
status_interval = 1.0
[cues]
athlete = "ana"
[[athletes]]
name = "ana"
height_cm = 170
# A coach's strict limit for this runner, so the clip's strides fault and an alert is
# raised within seconds (with the catalogue's limits this clip starts with ok strides).
[athletes.overrides.posture.run_tall]
warn_low = -30.0
fault_low = -40.0
warn_high = 1.0
fault_high = 3.0
[[athletes]]
name = "ben"
"""
    )
    return config


def _screenshot(driver, name: str, width: int, height: int) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")  # artefacts are never committed
    driver.set_window_size(width, height)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))  # the first screen, as a coach sees it
    return path


def _wait(driver, condition, timeout: float, what: str):
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        # (an element re-rendered between finding and reading it is retried, not a failure)
        wait = WebDriverWait(
            driver,
            timeout,
            poll_frequency=0.2,
            ignored_exceptions=(StaleElementReferenceException,),
        )
        return wait.until(condition)
    except TimeoutException:
        text = driver.execute_script("return document.body.innerText")[:1500]
        raise AssertionError(f"{what}: not within {timeout} s; the page said:\n{text}") from None


def _card_js(driver, script: str):
    return driver.execute_script(f"const card = document.querySelector('{CARD}'); {script}")


def _card_text(driver, selector: str) -> str | None:
    """The visible text of ``selector`` in the card, read in one script: the card is
    re-rendered as messages arrive, so an element found in one call can be gone (stale)
    by the next."""
    return _card_js(
        driver,
        f"const e = card && card.querySelector('{selector}'); return e ? e.innerText.trim() : null",
    )


def test_the_coachs_view_of_a_real_daemon(tmp_path, broker, media_dir, model_dir, lightning_model):
    # An earlier session of ana on this device, for the progress view.
    run = real_run(media_dir, lightning_model)
    results = tmp_path / "results.sqlite3"
    store = ResultStore(results)
    sink = StoreSink(store, DEVICE)
    sink.set_session("ana-earlier", athlete="ana")
    for report in run.reports:
        sink.publish_stride(report)
    store.close()

    commands = Subscriber(broker.port, [f"trackside/{DEVICE}/cmd/#"])
    dashboard = start_dashboard(
        broker.port, results_path=results, athletes=("ana", "ben"), heights={"ana": 170.0}
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRACKSIDE_MODEL_DIR": str(model_dir)}
    config = _config(tmp_path, broker.port, media_dir / "movup_run_treadmill.mp4")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "edge", "--config", str(config), "run", "--speed", "1", "--loop"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with chromium() as driver:
            _coach_session(driver, dashboard, daemon, commands, broker.port)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        commands.close()
        dashboard.stop()


def _coach_session(driver, dashboard, daemon, commands, broker_port: int) -> None:
    from selenium.webdriver.common.by import By

    driver.get(dashboard.url)
    # The headline: who is running, large, and one cue with how persistent it is.
    _wait(
        driver,
        lambda d: _card_js(d, "return card && card.querySelector('.headline').dataset.cue !== ''"),
        120,
        "a headline naming a cue",
    )
    assert _card_text(driver, ".athlete-name") == "ana"
    size = _card_js(driver, "return getComputedStyle(card.querySelector('.athlete-name')).fontSize")
    assert float(size.removesuffix("px")) >= 24
    headline = _card_text(driver, ".hl-text")
    assert " — " in headline and "strides" in headline, headline
    assert _card_text(driver, ".availability") == "live"
    _wait(
        driver,
        lambda d: _card_js(d, "return card.querySelectorAll('.alert-tile').length > 0"),
        60,
        "a raised alert",
    )
    # Never "no alert" beside a raised one; the headline names the top-ranked alert, and
    # no tile shows an internal cue id.
    tiles, no_alert, top, cue = _card_js(
        driver,
        "return [card.querySelectorAll('.alert-tile').length, !!card.querySelector('.no-alerts'),"
        " (card.querySelector('.alert-tile') || {dataset: {}}).dataset.cue,"
        " card.querySelector('.headline').dataset.cue]",
    )
    assert tiles and not no_alert
    assert cue == top
    alerts_text = _card_text(driver, ".alerts")
    assert top not in alerts_text and "leg_length" not in alerts_text

    # Phone: controls and headline on the first screen, 44 px touch targets, no sideways page.
    phone = _screenshot(driver, "coach-phone-390x844.png", 390, 844)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
    controls_top = _card_js(
        driver,
        "return card.querySelector('button[data-cmd=start_session]')"
        ".getBoundingClientRect().bottom",
    )
    assert controls_top <= 844, "Start session is below the first phone screen"
    small = _card_js(
        driver,
        "return [...card.querySelectorAll('button, summary, .toggle')].filter(b => b.offsetParent)"
        ".map(b => b.getBoundingClientRect()).filter(r => r.height < 44).length",
    )
    assert small == 0

    # Start a session for ben: the command names him, and the headline follows.
    athlete = driver.find_element(By.CSS_SELECTOR, f"{CARD} input.athlete")
    athlete.clear()
    athlete.send_keys("ben")
    driver.find_element(By.CSS_SELECTOR, f'{CARD} button[data-cmd="start_session"]').click()
    topic = f"trackside/{DEVICE}/cmd/start_session"
    sent = commands.wait_for(lambda ms: any(t == topic for t, _p, _r in ms), timeout=10)
    assert json.loads(next(p for t, p, _r in sent if t == topic))["athlete"] == "ben"
    _wait(
        driver,
        lambda d: _card_text(d, ".athlete-name") == "ben",
        30,
        "the headline naming ben",
    )
    # Stop asks first; "Keep going" sends nothing.
    driver.find_element(By.CSS_SELECTOR, f'{CARD} button[data-cmd="stop_session"]').click()
    confirm = driver.find_element(By.CSS_SELECTOR, f"{CARD} .confirm-stop")
    assert confirm.is_displayed() and "Stop the session?" in confirm.text
    driver.find_element(By.CSS_SELECTOR, f"{CARD} .confirm-no").click()
    assert not confirm.is_displayed()
    assert not any(t.endswith("/stop_session") for t, _p, _r in commands.messages)
    driver.set_window_size(1366, 768)
    laptop = _screenshot(driver, "coach-laptop-1366x768.png", 1366, 768)
    assert phone.stat().st_size > 10_000 and laptop.stat().st_size > 10_000
    _stop_session(driver, broker_port, commands)

    # The daemon stops: the card goes offline with no alert left, no stale fps.
    daemon.send_signal(signal.SIGTERM)
    output, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, output[-3000:]
    _wait(
        driver,
        lambda d: _card_text(d, ".availability") == "offline",
        20,
        "the card offline",
    )
    assert _card_js(driver, "return card.querySelectorAll('.alert-tile').length") == 0
    assert _card_text(driver, ".hl-text") == "Device offline"
    assert "fps" not in _card_text(driver, ".health")

    # The pass on video: it plays, frames decode, and a frame step moves it on.
    driver.get(dashboard.url)
    video = _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, f"{CARD} video.pass-clip"),
        30,
        "a pass clip",
    )[0]
    _wait(
        driver,
        lambda d: d.execute_script(
            "return arguments[0].readyState >= 2 && arguments[0].duration > 0", video
        ),
        20,
        "the clip's first frame",
    )
    assert driver.execute_script("return arguments[0].videoWidth", video) > 0
    assert driver.execute_script("return arguments[0].playbackRate", video) == 0.25  # slow
    driver.execute_script("arguments[0].play()", video)
    _wait(
        driver,
        lambda d: d.execute_script(
            "return arguments[0].getVideoPlaybackQuality().totalVideoFrames > 2", video
        ),
        20,
        "frames decoded",
    )
    before = driver.execute_script("arguments[0].pause(); return arguments[0].currentTime", video)
    driver.find_element(By.CSS_SELECTOR, f'{CARD} .clip-controls [data-step="1"]').click()
    _wait(
        driver,
        lambda d: d.execute_script("return arguments[0].currentTime", video) > before,
        10,
        "a frame step",
    )

    # Progress: ana's two sessions (the earlier one and the daemon's) on one page.
    driver.get(dashboard.url + "progress/ana")
    rows = driver.find_elements(By.CSS_SELECTOR, "tr.progress-row")
    assert len(rows) == 2, driver.page_source[:2000]
    assert all(r.text.startswith("ana — ") for r in rows)


def _stop_session(driver, broker_port: int, commands) -> None:
    """ "Yes, stop" stops ben's session on the real daemon: the command goes out, the daemon
    goes on analysing without judging, and the card shows no session and no alert."""
    from selenium.webdriver.common.by import By

    device = Subscriber(
        broker_port,
        [f"trackside/{DEVICE}/stride", f"trackside/{DEVICE}/alerts/active"],
    )
    try:
        driver.find_element(By.CSS_SELECTOR, f'{CARD} button[data-cmd="stop_session"]').click()
        driver.find_element(By.CSS_SELECTOR, f"{CARD} .confirm-yes").click()
        assert not driver.find_element(By.CSS_SELECTOR, f"{CARD} .confirm-stop").is_displayed()
        topic = f"trackside/{DEVICE}/cmd/stop_session"
        commands.wait_for(lambda ms: any(t == topic for t, _p, _r in ms), timeout=10)
        _wait(
            driver,
            lambda d: _card_text(d, ".session-title") == "no session",
            30,
            "the card showing no session",
        )

        def unjudged_strides(ms) -> int:
            return sum(
                t.endswith("/stride") and json.loads(p)["session_id"] is None for t, p, _r in ms
            )

        # The device goes on analysing the looped clip outside a session: three strides
        # later still no alert is raised, on the broker or on the card.
        seen = device.wait_for(lambda ms: unjudged_strides(ms) >= 3, timeout=60)
        active = [json.loads(p) for t, p, _r in seen if t.endswith("/alerts/active")]
        assert active and active[-1]["alerts"] == [], active[-1:]
        assert _card_js(driver, "return card.querySelectorAll('.alert-tile').length") == 0
        assert _card_text(driver, ".no-alerts") == "No session: nothing is judged."
        headline = _card_text(driver, ".hl-text")
        assert headline.startswith("No session"), headline
        assert _card_text(driver, ".availability") == "live"
    finally:
        device.close()
