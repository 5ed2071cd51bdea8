"""Where things live: repository root, dataset root, artifact cache.

Every path in the project comes from here, never from the working directory.
Two environment variables override the defaults:

* ``NCURV_DATA``  -- dataset root (default ``<repo>/data``);
* ``NCURV_CACHE`` -- artifact cache (default ``<repo>/data/cache``).

>>> repo_root().joinpath("ncurv_lib").is_dir()
True
"""
import os
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def repo_root() -> Path:
    """The repository root (the folder holding ``ncurv_lib/``)."""
    return _REPO


def data_root() -> Path:
    """Dataset root: ``$NCURV_DATA`` if set, else ``<repo>/data``."""
    env = os.environ.get("NCURV_DATA")
    return Path(env).expanduser().resolve() if env else _REPO / "data"


def cache_root() -> Path:
    """Artifact cache: ``$NCURV_CACHE`` if set, else ``<repo>/data/cache``."""
    env = os.environ.get("NCURV_CACHE")
    return Path(env).expanduser().resolve() if env else _REPO / "data" / "cache"
