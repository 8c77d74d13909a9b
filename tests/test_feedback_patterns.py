"""Feedback patterns as pure timelines: what each event shows, when, and which one wins."""

from __future__ import annotations

import pytest

from edge.outputs.feedback.patterns import (
    OFF,
    FeedbackPlan,
    Output,
    Segment,
    Timings,
    buzzer_code,
    clear_blink,
    length,
    play,
    stride_flash,
)
from edge.outputs.feedback.selftest import demo_report
from edge.types import CueAlert, CueGroup, CueResult, StrideReport, Verdict

T = Timings()  # 150 ms flash, 100 ms clear blinks, 80/120 ms beeps, 500 ms long beep
TONE = T.tone_hz
# A plan whose stride light follows every stride (hysteresis tested separately below).
INSTANT = FeedbackPlan(hold=1, window=1)


def lit(*names: str) -> frozenset[str]:
    return frozenset(names)


def alert(cue: str, active: bool = True, verdict: Verdict = Verdict.FAULT) -> CueAlert:
    return CueAlert(cue, active, verdict, 0.0, "message")


def tones(plan: FeedbackPlan, start: float, stop: float, step: float = 0.001) -> list[tuple]:
    """The buzzer's ``(onset, duration)`` spans between ``start`` and ``stop``, sampled every
    ``step`` and rounded to 10 ms."""
    spans: list[tuple] = []
    sounding_since = None
    n = round((stop - start) / step)
    for i in range(n + 1):
        t = start + i * step
        on = plan.output(t).tone is not None
        if on and sounding_since is None:
            sounding_since = t
        if not on and sounding_since is not None:
            spans.append((round(sounding_since - start, 2), round(t - sounding_since, 2)))
            sounding_since = None
    return spans


def test_play_covers_each_segment_half_open():
    timeline = (Segment(0.5, Output(lit("green"))), Segment(0.25, OFF))
    assert play(timeline, 10.0, 9.999) is None
    assert play(timeline, 10.0, 10.0).lit == lit("green")
    assert play(timeline, 10.0, 10.499).lit == lit("green")
    assert play(timeline, 10.0, 10.5) == OFF
    assert play(timeline, 10.0, 10.749) == OFF
    assert play(timeline, 10.0, 10.75) is None
    assert length(timeline) == 0.75


@pytest.mark.parametrize(
    ("grade", "worst", "expected"),
    [
        (Verdict.OK, None, lit("green")),
        (Verdict.OK, "arms.elbows_back", lit("green")),  # an ok stride names no culprit
        (Verdict.WARN, "arms.elbows_back", lit("amber", "arms")),
        (Verdict.FAULT, "posture.run_tall", lit("red", "posture")),
        (Verdict.FAULT, "mystery", lit("red")),
    ],
)
def test_stride_flash_shows_grade_and_worst_group(grade, worst, expected):
    (segment,) = stride_flash(grade, worst, T)
    assert segment == Segment(0.15, Output(expected))


def test_unknown_stride_shows_nothing():
    assert stride_flash(Verdict.UNKNOWN, None, T) == ()


@pytest.mark.parametrize(
    ("group", "on_durations"),
    [("head", [0.08]), ("posture", [0.08, 0.08]), ("arms", [0.08] * 3), ("legs", [0.5])],
)
def test_buzzer_codes_per_group(group, on_durations):
    code = buzzer_code(group, T)
    assert [s.duration for s in code if s.output.tone == TONE] == on_durations
    gaps = [s.duration for s in code if s.output.tone is None]
    assert gaps == [0.12] * (len(on_durations) - 1)
    assert all(s.output.lit == frozenset() for s in code)


def test_clear_blink_is_two_green_blinks():
    assert [(s.duration, s.output.lit) for s in clear_blink(T)] == [
        (0.1, lit("green")), (0.1, frozenset()), (0.1, lit("green"))
    ]  # fmt: skip


def test_cue_group_follows_the_id_convention():
    ids = ("head.look_ahead", "legs.x", "hands.cupped", "", None)
    assert [CueGroup.of(c) for c in ids] == [
        "head", "legs", None, None, None
    ]  # fmt: skip


def test_stride_flash_ends_and_a_newer_stride_replaces_it():
    plan = INSTANT.with_stride(demo_report(Verdict.WARN, "legs.x", 1), 5.0)
    assert plan.output(5.1).lit == lit("amber", "legs")
    assert plan.output(5.16) == OFF
    # A newer stride replaces the running flash at once.
    plan = plan.with_stride(demo_report(Verdict.OK, None, 2), 5.05)
    assert plan.output(5.1).lit == lit("green")


@pytest.mark.parametrize("grade", [Verdict.UNKNOWN, Verdict.UNRELIABLE])
def test_a_stride_that_judged_nothing_flashes_nothing(grade):
    plan = INSTANT.with_stride(demo_report(Verdict.OK, None, 1), 1.0)
    plan = plan.with_stride(demo_report(grade, None, 2), 2.0)
    assert plan.output(2.05) == OFF
    plan = plan.with_stride(demo_report(Verdict.OK, None, 3), 3.0)
    assert plan.output(3.05).lit == lit("green")


def flash_after(plan: FeedbackPlan, grades: list[Verdict]) -> tuple[FeedbackPlan, list]:
    """The plan after one stride per grade (0.7 s apart), and what each stride flashed."""
    shown = []
    for k, grade in enumerate(grades):
        worst = None if grade is Verdict.OK else "legs.x"
        plan = plan.with_stride(demo_report(grade, worst, k), 0.7 * k)
        shown.append(plan.output(0.7 * k + 0.05).lit)
    return plan, shown


def test_the_stride_light_changes_only_when_hold_of_window_strides_agree():
    ok, warn, fault = Verdict.OK, Verdict.WARN, Verdict.FAULT
    plan = FeedbackPlan(hold=3, window=4)
    green, amber, red = lit("green"), lit("amber", "legs"), lit("red", "legs")
    _, shown = flash_after(plan, [ok, ok, ok, fault, ok, fault, fault, fault, ok])
    # Nothing until three agree; one fault among oks changes nothing; three faults of the
    # last four turn it red; one ok then does not turn it back.
    assert shown == [frozenset(), frozenset(), green, green, green, green, red, red, red]
    _, shown = flash_after(plan, [ok, ok, ok, warn, ok, warn, ok, warn, ok, warn])
    assert set(shown[2:]) == {green}  # alternating never reaches three of four: steady
    _, shown = flash_after(plan, [warn, ok, warn, warn])
    assert shown == [frozenset(), frozenset(), green, amber]


def focus_report(index: int, verdicts: dict[str, Verdict], focus: tuple[str, ...]):
    """A stride graded by the worst of ``verdicts`` with the runner's ``focus`` cues."""
    order = (Verdict.OK, Verdict.WARN, Verdict.FAULT)
    cues = tuple(CueResult(cue, v, 1.0, "deg", "m") for cue, v in verdicts.items())
    grade = max(verdicts.values(), key=order.index)
    worst = max(verdicts, key=lambda c: order.index(verdicts[c]))
    report = demo_report(grade, None if grade is Verdict.OK else worst, index)
    return StrideReport(report.stride, cues, grade, report.worst_cue, focus=focus)


def test_with_a_focus_cue_the_light_follows_it_and_not_the_grade():
    focus = ("posture.run_tall",)
    verdicts = {"posture.run_tall": Verdict.OK, "legs.overstride": Verdict.FAULT}
    plan = INSTANT.with_stride(focus_report(0, verdicts, focus), 0.0)
    assert plan.output(0.05).lit == lit("green")  # the grade is a fault, the focus is ok
    verdicts["posture.run_tall"] = Verdict.WARN
    plan = plan.with_stride(focus_report(1, verdicts, focus), 1.0)
    assert plan.output(1.05).lit == lit("amber", "posture")
    # An alert of a cue outside the focus is not the runner's business.
    assert plan.with_alert(alert("legs.overstride"), 1.1) is plan
    held = plan.with_alert(alert("posture.run_tall"), 1.1)
    assert held.output(5.0).lit == lit("red", "posture")


def test_changing_the_focus_drops_the_other_cues_held_alerts():
    plan = INSTANT.with_alert(alert("legs.overstride"), 0.0)
    assert plan.output(0.5).lit == lit("red", "legs")
    report = focus_report(0, {"posture.run_tall": Verdict.OK}, ("posture.run_tall",))
    plan = plan.with_stride(report, 1.0)
    assert plan.alerts == () and plan.output(1.05).lit == lit("green")


def test_alert_holds_worst_colour_and_every_active_group():
    plan = FeedbackPlan().with_alert(alert("arms.a", verdict=Verdict.WARN), 0.0)
    assert plan.output(100.0).lit == lit("amber", "arms")  # held indefinitely
    plan = plan.with_alert(alert("legs.b", verdict=Verdict.FAULT), 1.0)
    assert plan.output(100.0).lit == lit("red", "arms", "legs")
    plan = plan.with_alert(alert("legs.b", active=False), 2.0)
    assert plan.output(2.05).lit == lit("amber", "arms")  # no green: arms is still active


def test_alert_outranks_stride_flashes():
    plan = FeedbackPlan().with_alert(alert("posture.run_tall"), 0.0)
    for k in range(5):
        plan = plan.with_stride(demo_report(Verdict.OK, None, k), 0.5 + k * 0.7)
        assert plan.output(0.55 + k * 0.7).lit == lit("red", "posture")


def test_clearing_the_last_alert_blinks_green_twice():
    plan = FeedbackPlan().with_alert(alert("head.x"), 0.0).with_alert(alert("head.x", False), 3.0)
    samples = [plan.output(3.0 + t).lit for t in (0.05, 0.15, 0.25, 0.35)]
    assert samples == [lit("green"), frozenset(), lit("green"), frozenset()]


def test_clearing_an_alert_that_is_not_active_changes_nothing():
    plan = INSTANT.with_stride(demo_report(Verdict.FAULT, None, 0), 0.0)
    assert plan.with_alert(alert("head.x", active=False), 0.01) is plan


def test_raised_alert_sounds_its_code_once():
    plan = FeedbackPlan().with_alert(alert("arms.a"), 1.0)
    assert tones(plan, 1.0, 2.0) == [(0.0, 0.08), (0.2, 0.08), (0.4, 0.08)]
    # The same alert reported again (same verdict) is not news: no second code.
    again = plan.with_alert(alert("arms.a"), 1.5)
    assert again is plan


def test_verdict_change_sounds_the_code_again():
    warn = FeedbackPlan().with_alert(alert("head.a", verdict=Verdict.WARN), 0.0)
    assert tones(warn, 0.0, 1.0) == [(0.0, 0.08)]
    fault = warn.with_alert(alert("head.a", verdict=Verdict.FAULT), 1.0)
    assert tones(fault, 1.0, 2.0) == [(0.0, 0.08)]
    assert fault.output(1.5).lit == lit("red", "head")


def test_codes_raised_together_play_one_after_another():
    plan = FeedbackPlan().with_alert(alert("legs.a"), 0.0).with_alert(alert("posture.b"), 0.0)
    # legs: 0.5 s long beep; then a 0.4 s gap; then posture's two beeps.
    assert tones(plan, 0.0, 2.0) == [(0.0, 0.5), (0.9, 0.08), (1.1, 0.08)]


def test_unknown_group_holds_the_colour_without_a_code():
    plan = FeedbackPlan().with_alert(alert("hands.cupped", verdict=Verdict.WARN), 0.0)
    assert plan.output(0.01) == Output(lit("amber"), None)
    assert tones(plan, 0.0, 1.0) == []


def test_quiet_mode_keeps_the_lights_and_silences_the_buzzer():
    loud = FeedbackPlan().with_alert(alert("legs.a"), 0.0)
    quiet = loud.with_quiet(True)
    assert quiet.output(0.1) == Output(lit("red", "legs"), None)  # mid long-beep: silent
    assert tones(quiet.with_alert(alert("head.b"), 1.0), 0.0, 3.0) == []
    # Leaving quiet mode does not replay codes dropped while quiet.
    assert tones(quiet.with_quiet(False), 0.0, 3.0) == []
    assert tones(quiet.with_quiet(False).with_alert(alert("head.b"), 1.0), 0.0, 3.0) == [
        (1.0, 0.08)
    ]


def test_old_sounds_are_pruned():
    plan = FeedbackPlan().with_alert(alert("head.a"), 0.0)
    for k in range(100):
        plan = plan.with_stride(demo_report(Verdict.OK, None, k), 1.0 + k)
    assert plan.sounds == ()


def test_timings_come_from_config_in_seconds():
    from edge.outputs.feedback.settings import FeedbackConfig

    timings = Timings.from_config(FeedbackConfig(stride_flash_ms=200, long_beep_ms=700))
    assert (timings.stride_flash, timings.long_beep, timings.tone_hz) == (0.2, 0.7, 2000.0)
