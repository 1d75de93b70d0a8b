"""Helpers for developing Chasm, shared by `tests/` and `bench/` (neither imports the other); not shipped.

`browser`: start and stop `chasm serve` and drive it in Debian's chromium.
"""
