"""The data Chasm ships: preset scenarios, the demo organisation and published reference curves.

Installed with the package (package-data), so every reader finds it the same way, from a checkout
or from a wheel:

    from seed_data import path
    path("scenarios", "rollout.toml")

Folders: `scenarios/` (the presets `chasm simulate NAME` accepts), `demo/` (the demo organisation
`chasm demo load` ingests, its example uploads and alternative plans), `reference/` (real,
published adoption curves the tests and benchmarks check against; see reference/SOURCES.md).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """Where a shipped file or folder is, e.g. `path("scenarios", "rollout.toml")`.

    Args:
        *parts: The path inside `seed_data/`, one folder or file name per part.

    Returns:
        A real filesystem path (the package is installed as plain files, never zipped).

    Raises:
        RuntimeError: The package was imported from a zip archive, where there are no such paths.
    """
    root = files(__name__)
    if not isinstance(root, Path):
        raise RuntimeError(f"seed_data is inside an archive ({root}); install Chasm unzipped")
    return root.joinpath(*parts)
