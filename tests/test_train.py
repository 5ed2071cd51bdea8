"""Training: determinism, cache hits, corrupt-cache recovery, resume, PGD, weight decay."""
import dataclasses

import pytest
import torch
from torch import nn

from ncurv_lib import train as T
from ncurv_lib.cache import CacheError, artifact_path


def _tiny(**kw):
    base = dict(train_limit=600, epochs=2, width=0.25, batch_size=100)
    base.update(kw)
    return T.TrainConfig.preset("mnist", "lenet5", "relu", "ce", "smoke", **base)


def _same(a, b):
    return all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


def test_deterministic_and_cached(tmp_path, monkeypatch):
    cfg = _tiny()
    m1, info = T.load_or_train(cfg, progress=False)
    assert 0 <= info["test_acc"] <= 1 and len(info["history"]) == 2
    assert artifact_path("models", cfg, "json").exists()
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path / "other"))
    m2, _ = T.load_or_train(cfg, progress=False)     # trained again from scratch
    assert _same(m1, m2)
    monkeypatch.setattr(T, "_run_training", lambda *a: pytest.fail("cache not used"))
    m3, info3 = T.load_or_train(cfg, progress=False)
    assert _same(m1, m3) and info3["test_acc"] == info["test_acc"]


def test_corrupt_cache_is_reported_and_recomputed_on_request():
    cfg = _tiny(epochs=1)
    m1, _ = T.load_or_train(cfg, progress=False)
    artifact_path("models", cfg, "pt").write_bytes(b"garbage")
    with pytest.raises(CacheError, match="--recompute"):
        T.load_or_train(cfg, progress=False)
    m2, _ = T.load_or_train(cfg, progress=False, recompute=True)
    assert _same(m1, m2)


def test_interrupted_run_resumes_to_the_same_model(monkeypatch):
    cfg = _tiny(epochs=3)
    full, _ = T.load_or_train(cfg, progress=False, recompute=True)
    real_epoch, calls = T._epoch, []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args)

    monkeypatch.setattr(T, "_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        T.load_or_train(cfg, progress=False, recompute=True)
    assert artifact_path("models", cfg, "pt").with_suffix(".partial.pt").exists()
    monkeypatch.setattr(T, "_epoch", real_epoch)
    resumed, info = T.load_or_train(cfg, progress=False)
    assert [h["epoch"] for h in info["history"]] == [1, 2, 3]
    assert _same(full, resumed)


def test_pgd_stays_in_the_box_and_hurts():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    x, y = torch.rand(32, 1, 3, 4), torch.randint(0, 3, (32,))
    adv = T.pgd_attack(model, x, y, eps=0.1, step=0.05, steps=5, dataset="mnist",
                       generator=torch.Generator().manual_seed(0))
    assert float((adv - x).abs().max()) <= 0.1 + 1e-6
    assert float(adv.min()) >= 0 and float(adv.max()) <= 1
    loss = lambda z: nn.functional.cross_entropy(model(z), y).item()
    assert loss(adv) > loss(x)


def test_weight_decay_groups_exclude_biases_and_batchnorm():
    cfg = T.TrainConfig.preset("cifar10", "vgg9", "relu", "wd", "smoke",
                               weight_decay=1e-3, weight_decay_linear=1e-5)
    model = cfg.build()
    groups = T._optimizer(cfg, model).param_groups
    decayed = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            assert decayed[id(m.weight)] == 1e-3 and decayed[id(m.bias)] == 0
        if isinstance(m, nn.Linear):
            assert decayed[id(m.weight)] == 1e-5
        if isinstance(m, nn.BatchNorm2d):
            assert decayed[id(m.weight)] == 0 and decayed[id(m.bias)] == 0


def test_presets_and_validation():
    assert len(T.zoo_configs("cpu")) == 13
    cfg = T.TrainConfig.preset("cifar10", "vgg9", "tanh", "at", "paper")
    assert (cfg.width, cfg.adv_steps, cfg.adv_eps) == (1.0, 7, 8 / 255)
    with pytest.raises(ValueError, match="unknown scale"):
        T.TrainConfig.preset(scale="huge")
    with pytest.raises(ValueError, match="unknown TrainConfig fields"):
        T.TrainConfig.preset(epoch=3)
    with pytest.raises(ValueError, match="weight_decay"):
        T.TrainConfig(scheme="wd")


def test_adversarial_warmup_and_checkpoint_choice(monkeypatch):
    cfg = T.TrainConfig.preset("mnist", "lenet5", "relu", "at", "smoke", train_limit=200,
                               epochs=3, width=0.25, adv_warmup=2)
    assert [T.adv_eps(cfg, e) for e in range(3)] == [0.0, cfg.adv_eps / 2, cfg.adv_eps]
    seen = []
    real = T.pgd_attack

    def spy(model, x, y, eps, step, steps, dataset, generator=None):
        seen.append(eps)
        return real(model, x, y, eps, step, steps, dataset, generator)

    monkeypatch.setattr(T, "pgd_attack", spy)
    _, info = T.load_or_train(cfg, progress=False)
    assert sorted(set(seen)) == [cfg.adv_eps / 2, cfg.adv_eps]  # epoch 1 is clean
    assert info["best_epoch"] == 3  # only full-eps epochs may be chosen
