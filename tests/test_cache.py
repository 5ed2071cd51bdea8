import dataclasses
import os

import pytest
import torch

from ncurv_lib import cache


@dataclasses.dataclass(frozen=True)
class Cfg:
    a: int = 1
    b: float = 0.5


def test_hash_is_canonical_and_sensitive():
    assert cache.config_hash(Cfg()) == cache.config_hash(Cfg(a=1, b=0.5))
    assert cache.config_hash(Cfg()) != cache.config_hash(Cfg(a=2))
    assert cache.config_hash({"x": 1, "y": 2}) == cache.config_hash({"y": 2, "x": 1})
    with pytest.raises(TypeError):
        cache.config_hash([1, 2])


def test_artifact_path_under_cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path))
    p = cache.artifact_path("models", Cfg(), "pt")
    assert p.parent == tmp_path / "models" and p.name == cache.config_hash(Cfg()) + ".pt"


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.pt"
    with pytest.raises(RuntimeError):
        cache._atomic(target, lambda tmp: (open(tmp, "wb").write(b"half"), _boom()))
    assert os.listdir(tmp_path) == []
    cache.atomic_torch_save({"k": torch.arange(3)}, target)
    assert torch.equal(cache.torch_load_or_none(target)["k"], torch.arange(3))


def _boom():
    raise RuntimeError("interrupted")


def test_corrupt_file_reads_as_missing(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    assert cache.torch_load_or_none(bad) is None
    assert cache.torch_load_or_none(tmp_path / "absent.pt") is None
