"""Test doubles for Trackside's edges, shared by the test suite and the benchmarks.

Like ``gpiozero.pins.mock`` for the pins, these stand in for the world outside the process,
so code can be exercised for real on any machine:

* :mod:`edge.testing.mosquitto`: a real Mosquitto broker on a free loopback port (needs the
  ``mosquitto`` and ``openssl`` commands), with throwaway TLS files and password files;
* :mod:`edge.testing.mqtt`: synthetic stride reports and alerts, and a recording subscriber;
* :mod:`edge.testing.dashboard`: a started dashboard and a reader for its event stream;
* :mod:`edge.testing.picamera2`: a stand-in for picamera2's ``Picamera2`` with the API
  surface the camera adapter uses (picamera2 itself exists only on a Raspberry Pi).

Nothing in the product imports this package.
"""
