"""Chasm's metrics store: SQLModel tables, validated ingestion, queries.

Knows nothing of the simulator or the UI.
"""
