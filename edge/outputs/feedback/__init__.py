"""The runner's feedback: a traffic light, LEDs per cue group and a buzzer, via gpiozero.

* :mod:`~edge.outputs.feedback.settings` - the ``[feedback]`` config section and pin checks;
* :mod:`~edge.outputs.feedback.patterns` - what each event looks and sounds like (pure);
* :mod:`~edge.outputs.feedback.driver` - the gpiozero devices and the ticker thread;
* :mod:`~edge.outputs.feedback.selftest` - ``trackside feedback test`` for installers.

Importing this package imports gpiozero; :mod:`edge.config` imports only ``settings``.
"""

from edge.outputs.feedback.driver import FeedbackDriver, FeedbackError
from edge.outputs.feedback.patterns import FeedbackPlan, Output, Timings
from edge.outputs.feedback.selftest import run_feedback_test
from edge.outputs.feedback.settings import FeedbackConfig, check_feedback

__all__ = [
    "FeedbackConfig",
    "FeedbackDriver",
    "FeedbackError",
    "FeedbackPlan",
    "Output",
    "Timings",
    "check_feedback",
    "run_feedback_test",
]
