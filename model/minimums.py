"""How many periods the forecasts need before they run.

The early warning works from MIN_PERIODS, the agent-based fit from MIN_WEEKS. Kept apart so a reader
can ask "is there enough data yet?" without loading the model.
"""

MIN_WEEKS = 6
"""Weeks of data the agent-based calibration needs."""
MIN_PERIODS = 3
"""The early-warning forecast (the default) works from three periods; the agent-based fit from six."""
