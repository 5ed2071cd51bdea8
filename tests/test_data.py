"""Datasets: readers on synthetic files (independent of the real data), splits and
transforms on the real mirror, calibration and pruning batches."""
import gzip
import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ncurv_lib import data as D


def _idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + np.array(arr.shape, dtype=">i4").tobytes()
    return header + arr.astype(np.uint8).tobytes()


def test_idx_reader_plain_and_gzip(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    (tmp_path / "a").write_bytes(_idx_bytes(arr))
    (tmp_path / "a.gz").write_bytes(gzip.compress(_idx_bytes(arr)))
    assert np.array_equal(D._read_idx(tmp_path / "a"), arr)
    assert np.array_equal(D._read_idx(tmp_path / "a.gz"), arr)
    (tmp_path / "t").write_bytes(_idx_bytes(arr)[:-10])
    with pytest.raises(D.DatasetNotFoundError, match="truncated"):
        D._read_idx(tmp_path / "t")


def test_zip_reader_labels_alphabetical(tmp_path):
    rng = np.random.default_rng(1)
    classes = ["truck", "airplane", "cat"] + [f"c{i}" for i in range(7)]
    pixels = {}
    with zipfile.ZipFile(tmp_path / "train.zip", "w") as zf:
        for c in classes:
            img = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="WEBP", lossless=True)
            zf.writestr(f"train/{c}/{c}_0001.webp", buf.getvalue())
            pixels[c] = img
    images, labels = D._decode_zip(tmp_path / "train.zip", 10)
    order = sorted(classes)
    assert labels.tolist() == list(range(10))
    for i, c in enumerate(order):  # lossless: pixel-identical, channels first
        assert np.array_equal(images[i], pixels[c].transpose(2, 0, 1))
    with pytest.raises(D.DatasetNotFoundError, match="class folders"):
        D._decode_zip(tmp_path / "train.zip", 100)


def test_missing_dataset_says_where_it_looked(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("no network")
    monkeypatch.setattr(D, "_torchvision", offline)
    with pytest.raises(D.DatasetNotFoundError) as err:
        D.load_split("cifar10", "test", root=tmp_path)
    assert str(tmp_path) in str(err.value) and "NCURV_DATA" in str(err.value)


def test_incomplete_dataset_is_reported(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((7, 28, 28))))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(7)))
    with pytest.raises(D.DatasetNotFoundError, match="incomplete"):
        D.load_split("mnist", "test", root=tmp_path)


def test_bad_names():
    with pytest.raises(ValueError, match="unknown dataset"):
        D.load_split("svhn", "train")
    with pytest.raises(ValueError, match="unknown split"):
        D.load_split("mnist", "dev")


def test_splits_are_disjoint_and_sized():
    for name, n_train, n_val in (("mnist", 50_000, 10_000), ("cifar10", 45_000, 5_000)):
        tr, va = D.split_indices(name, "train"), D.split_indices(name, "val")
        assert len(tr) == n_train and len(va) == n_val
        assert len(np.union1d(tr, va)) == n_train + n_val
        assert np.array_equal(tr, D.split_indices(name, "train"))  # fixed seed


def test_mnist_real(data_root):
    x, y = D.load_split("mnist", "test")
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == torch.float32
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0  # pixels / 255, no normalisation
    assert y[:5].tolist() == [7, 2, 1, 0, 4]                 # the official test order
    xt, yt = D.load_split("mnist", "train")
    assert len(yt) == 50_000 and torch.bincount(yt).min() > 4_000


def test_cifar_real_normalised(data_root):
    x, y = D.load_split("cifar10", "test")
    assert x.shape == (10_000, 3, 32, 32)
    assert torch.bincount(y).tolist() == [1000] * 10
    images, _ = D.raw_arrays("cifar10", "test")
    mean = torch.tensor(D.CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(D.CIFAR_STD).view(1, 3, 1, 1)
    expected = (torch.from_numpy(images[:4].astype(np.float32)) / 255 - mean) / std
    assert torch.allclose(x[:4], expected)
    _, y100 = D.load_split("cifar100", "test", limit=3000)
    assert len(y100) == 3000 and int(y100.max()) <= 99


def test_augment_is_flip_plus_padded_crop():
    x = torch.randn(6, 3, 32, 32)
    out = D.augment(x, torch.Generator().manual_seed(3))
    fill = (-torch.tensor(D.CIFAR_MEAN) / torch.tensor(D.CIFAR_STD)).view(3, 1, 1)
    for img, aug in zip(x, out):
        found = False
        for flipped in (img, img.flip(2)):
            padded = fill.expand(3, 40, 40).clone()
            padded[:, 4:36, 4:36] = flipped
            found |= any(torch.equal(padded[:, dy:dy + 32, dx:dx + 32], aug)
                         for dy in range(9) for dx in range(9))
        assert found


class _AlwaysZero(nn.Module):
    def forward(self, x):
        out = torch.zeros(len(x), 10)
        out[:, 0] = 1
        return out


def test_calibration_is_first_correct_per_class():
    _, y = D.load_split("mnist", "val")
    idx = D.calibration_indices(_AlwaysZero(), "mnist", k=3, classes=[0])
    assert idx.tolist() == torch.nonzero(y == 0).flatten()[:3].tolist()
    with pytest.raises(ValueError, match="fewer than"):
        D.calibration_indices(_AlwaysZero(), "mnist", k=1)  # only class 0 is ever right


def test_pruning_batch_per_class():
    x, y = D.pruning_batch("mnist", per_class=10)
    assert x.shape == (100, 1, 28, 28)
    assert y.tolist() == [c for c in range(10) for _ in range(10)]
