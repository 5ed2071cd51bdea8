"""Artifact cache: configuration hashes and atomic writes.

An artifact (a trained model, curvature scores, a pruning table) is stored as
``<cache_root>/<kind>/<hash>.<suffix>`` where ``hash`` is :func:`config_hash` of
the full configuration that produced it; the configuration itself is written
beside it as ``<hash>.json``. Every write goes to a temporary file in the same
folder and is renamed into place, so an interrupted run never leaves a
half-written file that a later run mistakes for a finished one.

>>> config_hash({"b": 1, "a": 2}) == config_hash({"a": 2, "b": 1})
True
>>> len(config_hash({"a": 1}))
16
"""
import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

from .paths import cache_root


def _jsonable(cfg):
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {"__class__": type(cfg).__name__, **dataclasses.asdict(cfg)}
    if isinstance(cfg, dict):
        return cfg
    raise TypeError(f"cannot hash a configuration of type {type(cfg).__name__}; "
                    "use a dataclass or a dict")


def canonical_json(cfg) -> str:
    """Canonical JSON text of a dataclass or dict (sorted keys, no spaces)."""
    return json.dumps(_jsonable(cfg), sort_keys=True, separators=(",", ":"),
                      default=_json_default)


def config_hash(cfg) -> str:
    """First 16 hex digits of the SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(cfg).encode()).hexdigest()[:16]


def artifact_path(kind: str, cfg, suffix: str) -> Path:
    """``<cache_root>/<kind>/<config_hash(cfg)>.<suffix>`` (folder not created)."""
    return cache_root() / kind / f"{config_hash(cfg)}.{suffix.lstrip('.')}"


def _atomic(path, write):
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would create it
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return _atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_json(path, obj) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"
    return atomic_write_bytes(path, text.encode())


def _json_default(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(obj)
    return str(obj)


def atomic_torch_save(obj, path) -> Path:
    """``torch.save`` to ``path`` atomically."""
    import torch
    return _atomic(path, lambda tmp: torch.save(obj, tmp))


def atomic_write_csv(df, path) -> Path:
    """Write a pandas DataFrame as CSV (no index) to ``path`` atomically."""
    return _atomic(path, lambda tmp: df.to_csv(tmp, index=False))


class CacheError(RuntimeError):
    """A cached artifact exists but cannot be used (unreadable, truncated, of another
    format); the message names the file and the command that replaces it."""


def torch_load(path, what="cached artifact", fix="delete it to recompute it"):
    """Load a ``torch.save`` file; ``None`` if it is missing.

    A file that exists but cannot be read (truncated, corrupt, written by an
    incompatible torch) raises :class:`CacheError` naming the file and ``fix``: an
    expensive artifact is never recomputed silently.
    """
    import torch
    path = Path(path)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise CacheError(f"{what} {path} cannot be read ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else 'no detail'}); "
                         f"{fix}") from err


def torch_load_or_none(path):
    """Load a resumable partial file: ``None`` if it is missing or unreadable (a
    warning then says that the work it held restarts)."""
    import warnings
    try:
        return torch_load(path)
    except CacheError as err:
        warnings.warn(f"{err}; starting over", stacklevel=2)
        return None
