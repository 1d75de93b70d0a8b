"""Settings every test session shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def data_directory(tmp_path_factory) -> Iterator[None]:
    """Whatever a test writes to the data directory (pseudonym key, demo plans) goes to a throwaway
    folder, not the checkout's data/, unless the test sets CHASM_DATA_DIR itself."""
    patch = pytest.MonkeyPatch()
    patch.setenv("CHASM_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    patch.delenv("CHASM_PLANS_DIR", raising=False)
    yield
    patch.undo()
