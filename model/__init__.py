"""Chasm's simulator: an agent-based Mesa model of technicians adopting a tool.

Knows nothing of databases or the UI; results leave as pandas DataFrames.
"""
