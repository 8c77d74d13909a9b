"""The coach's dashboard: a small web page fed live from MQTT (``trackside dashboard``).

See ``docs/dashboard.md``.  :func:`run_dashboard` is the command; :class:`DashboardConfig`
the ``[dashboard]`` config section.
"""

from edge.dashboard.service import Dashboard, build_dashboard, run_dashboard
from edge.dashboard.settings import DashboardConfig, DashboardTarget, resolve_dashboard

__all__ = [
    "Dashboard",
    "DashboardConfig",
    "DashboardTarget",
    "build_dashboard",
    "resolve_dashboard",
    "run_dashboard",
]
