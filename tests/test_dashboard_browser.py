"""End to end in a real headless browser: real results → Mosquitto → dashboard → Chromium.

A real MoveNet run over a real clip is judged by the real gait and cue pipeline; an
:class:`~edge.outputs.mqtt.MqttPublisher` publishes its status, strides, alerts and a
rendered keyframe to a real Mosquitto; the dashboard follows the broker; Debian's Chromium,
driven by Selenium through the system chromedriver (never a downloaded one), must show them,
and a click on "Start session" must reach the device as an MQTT command.  Screenshots at a
phone and a laptop size go to ``$TRACKSIDE_TEST_ARTIFACTS`` (default ``tests/artifacts/``,
which ignores itself in git).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from dashboard_helpers import chromium, real_run

from edge.cues.rolling import RollingCues
from edge.outputs.keyframe import focus_cue, render_keyframe
from edge.outputs.mqtt import MqttPublisher
from edge.outputs.mqtt.payloads import DeviceStatus, Keyframe
from edge.testing.dashboard import publisher_config, start_dashboard
from edge.testing.mosquitto import Broker
from edge.testing.mqtt import Subscriber

ARTIFACTS = Path(
    os.environ.get("TRACKSIDE_TEST_ARTIFACTS") or Path(__file__).resolve().parent / "artifacts"
)

pytestmark = [pytest.mark.media, pytest.mark.model]


@pytest.fixture
def browser():
    with chromium() as driver:
        yield driver


def _screenshot(driver, name: str, width: int, height: int) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")  # artefacts are never committed
    driver.set_window_size(width, height)
    time.sleep(0.3)  # let the layout settle after the resize (a screenshot, not a check)
    # Grow the window to the page height so the whole dashboard is on one picture.
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(height, min(int(full) + 140, 6000)))
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    driver.set_window_size(width, height)
    return path


def test_page_shows_real_results_and_sends_commands(tmp_path, browser, media_dir, lightning_model):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    run = real_run(media_dir, lightning_model)
    assert run.reports and run.flagged(), "the clip should give judged strides with issues"
    # The clip is short (8 strides): a sensitive rolling policy, as a coach may configure,
    # lets its repeated faults raise an alert.
    rolling = RollingCues(hold=2, window=3)
    alerts = [a for r in run.reports for a in rolling.update(r)]
    raised = [a for a in alerts if a.active]
    assert raised, "the clip's faults should raise at least one alert"
    flagged = run.flagged()[0]
    jpeg = render_keyframe(*run.frame_at(flagged.stride.foot_strike.time), flagged)
    cue = focus_cue(flagged)

    broker = Broker(tmp_path / "broker")
    broker.start()
    dashboard = publisher = commands = None
    try:
        dashboard = start_dashboard(broker.port, athletes=("ana", "ben"))
        publisher = MqttPublisher(publisher_config(broker.port, "pi-track3", tmp_path / "ob"))
        publisher.commands.on("start_session", lambda _cmd: None)  # the device accepts it
        commands = Subscriber(broker.port, ["trackside/pi-track3/cmd/#"])
        publisher.start()
        assert publisher.link.wait_subscribed(10)
        publisher.set_session("track-am", athlete="ana")
        publisher.publish_status(
            DeviceStatus("running", fps=9.6, inference_ms=88.0, dropped_frames=3)
        )
        for report in run.reports:
            publisher.publish_stride(report)
        for alert in alerts:
            publisher.publish_alert(alert)
        publisher.publish_keyframe(
            Keyframe(
                jpeg,
                stride_index=flagged.stride.index,
                cue_id=cue.cue_id,
                time_s=flagged.stride.foot_strike.time,
                verdict=cue.verdict.value,
                message=cue.message,
            )
        )

        driver = browser
        driver.get(dashboard.url)
        wait = WebDriverWait(driver, 15)
        card = '[data-device="trackside/pi-track3"]'
        last = run.reports[-1]
        wait.until(
            ec.presence_of_element_located(
                (By.CSS_SELECTOR, f'{card} table.strides tr[data-index="{last.stride.index}"]')
            )
        )
        wait.until(
            ec.text_to_be_present_in_element((By.CSS_SELECTOR, f"{card} .availability"), "live")
        )
        # Every stride is in the table (newest first) with the values the pipeline measured.
        rows = driver.find_elements(By.CSS_SELECTOR, f"{card} table.strides tbody tr")
        assert [int(r.get_attribute("data-index")) for r in rows] == [
            r.stride.index for r in reversed(run.reports)
        ][:12]
        row = driver.find_element(By.CSS_SELECTOR, f'{card} tr[data-index="{last.stride.index}"]')
        cadence = row.find_element(By.CSS_SELECTOR, 'td[data-key="stride.cadence_spm"]').text
        assert cadence == f"{120.0 / last.stride.duration:.0f}"
        lean = last.stride.metrics["trunk_lean_deg"].value
        lean_cell = row.find_element(By.CSS_SELECTOR, 'td[data-key="trunk_lean_deg"]')
        assert lean_cell.text == f"{lean:.1f}"
        lean_verdict = next(c.verdict.value for c in last.cues if c.cue_id == "posture.run_tall")
        assert lean_verdict in (lean_cell.get_attribute("class") or "ok")
        assert row.find_element(By.CSS_SELECTOR, "td.grade-" + last.grade.value)

        # Alerts still raised at the end are tiles with their coaching message.
        still_raised = {a.cue_id: a for a in alerts}
        active = [a for a in still_raised.values() if a.active]
        if active:
            tile = wait.until(
                ec.presence_of_element_located(
                    (By.CSS_SELECTOR, f'{card} .alert-tile[data-cue="{active[0].cue_id}"]')
                )
            )
            assert active[0].message in tile.text
        # Every judged cue has a tile coloured by its latest verdict; an information-only
        # cue says so.
        for result in last.cues:
            tile = driver.find_element(
                By.CSS_SELECTOR, f'{card} .cue-tile[data-cue="{result.cue_id}"]'
            )
            assert tile.get_attribute("data-verdict") == result.verdict.value
            assert ("info only" in tile.text) == result.information_only, result.cue_id

        # The keyframe picture is shown and decoded by the browser.
        image = wait.until(
            ec.presence_of_element_located((By.CSS_SELECTOR, f"{card} img.keyframe"))
        )
        wait.until(
            lambda d: d.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0", image
            )
        )
        assert cue.message in driver.find_element(By.CSS_SELECTOR, f"{card} figcaption").text
        assert driver.find_elements(By.CSS_SELECTOR, f"{card} .chart polyline")
        assert "state running" in driver.find_element(By.CSS_SELECTOR, f"{card} .health").text

        phone = _screenshot(driver, "dashboard-phone-390x844.png", 390, 844)
        # A page wider than the phone would need sideways scrolling of the whole page.
        page_width = driver.execute_script("return document.documentElement.scrollWidth")
        assert page_width <= 390

        # The coach starts a session: the command reaches the device over MQTT...
        athlete = driver.find_element(By.CSS_SELECTOR, f"{card} input.athlete")
        athlete.clear()
        athlete.send_keys("ana")
        driver.find_element(By.CSS_SELECTOR, f'{card} button[data-cmd="start_session"]').click()
        topic = "trackside/pi-track3/cmd/start_session"
        messages = commands.wait_for(lambda ms: any(t == topic for t, _p, _r in ms))
        payload = json.loads(next(p for t, p, _r in messages if t == topic))
        assert payload["athlete"] == "ana" and payload["request_id"].startswith("dash-")
        assert set(payload) == {"athlete", "request_id"}
        # ...and its reply comes back to the page.
        wait.until(
            ec.text_to_be_present_in_element(
                (By.CSS_SELECTOR, f"{card} .cmd-result"), "start_session: done"
            )
        )
        # The coach picks the runner's focus cue: set_focus reaches the device.
        from selenium.webdriver.support.ui import Select

        # Focus and speed sit behind "Focus, speed, athlete" (the phone's first screen is the
        # headline and Start/Stop).
        driver.find_element(By.CSS_SELECTOR, f"{card} details.more summary").click()
        first = driver.find_elements(By.CSS_SELECTOR, f"{card} select.focus")[0]
        Select(first).select_by_value("legs.overstride")
        driver.find_element(By.CSS_SELECTOR, f'{card} button[data-cmd="set_focus"]').click()
        topic = "trackside/pi-track3/cmd/set_focus"
        messages = commands.wait_for(lambda ms: any(t == topic for t, _p, _r in ms))
        payload = json.loads(next(p for t, p, _r in messages if t == topic))
        assert payload["cue_ids"] == ["legs.overstride"]
        laptop = _screenshot(driver, "dashboard-laptop-1366x768.png", 1366, 768)
        assert phone.stat().st_size > 10_000 and laptop.stat().st_size > 10_000
    finally:
        for closer in (
            commands and commands.close,
            publisher and publisher.stop,
            dashboard and dashboard.stop,
        ):
            if closer:
                closer()
        broker.stop()
