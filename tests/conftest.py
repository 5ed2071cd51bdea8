"""Shared fixtures: dataset root and a private artifact cache per test."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _data_root() -> Path:
    env = os.environ.get("NCURV_DATA")
    if env:
        return Path(env)
    shared = REPO.parent / "shared" / "data"
    return shared if shared.is_dir() else REPO / "data"


@pytest.fixture(scope="session")
def data_root():
    """The real datasets (``$NCURV_DATA``, else ``../shared/data``, else ``data/``)."""
    return _data_root()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes artifacts to its own cache; decoded datasets are shared."""
    monkeypatch.setenv("NCURV_DATA", str(_data_root()))
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One cache for the whole session (decoded datasets, trained tiny models)."""
    return tmp_path_factory.mktemp("shared-cache")
