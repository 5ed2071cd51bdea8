"""Datasets of the paper: MNIST, CIFAR-10, CIFAR-100.

Two on-disk layouts are read from the dataset root (``$NCURV_DATA``, default
``<repo>/data``; see :mod:`ncurv_lib.paths`):

* torchvision's official layout -- ``MNIST/raw/*-ubyte[.gz]``,
  ``cifar-10-batches-py/``, ``cifar-100-python/`` -- downloaded through
  torchvision when nothing is found and the network allows;
* the local mirror -- ``MNIST/raw/*.gz`` (IDX, gzip) and
  ``cifar10/{train,test}.zip``, ``cifar100/{train,test}.zip`` (lossless WebP,
  ``<split>/<class>/<name>.webp``, labels = alphabetical class index).

Raw images are decoded once and cached as uint8 arrays under
``<cache_root>/datasets/``. Splits: the official training set is split with a
fixed seed into train/validation (MNIST 50k/10k, CIFAR 45k/5k); ``"test"`` is
the official test set. Transforms follow the paper's authors: MNIST
``pixels/255``; CIFAR normalised with mean (0.4914, 0.4822, 0.4465) and std
(0.2023, 0.1994, 0.2010); training augmentation (CIFAR only) is a horizontal
flip and a random 32x32 crop with padding 4 (:func:`augment`).
"""
import gzip
import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .cache import atomic_write_bytes, config_hash
from .paths import cache_root, data_root

DATASETS = ("mnist", "cifar10", "cifar100")
SPLITS = ("train", "val", "test")
SPLIT_SEED = 0
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


@dataclass(frozen=True)
class _Spec:
    n_classes: int
    n_val: int
    shape: tuple


_SPECS = {
    "mnist": _Spec(10, 10_000, (1, 28, 28)),
    "cifar10": _Spec(10, 5_000, (3, 32, 32)),
    "cifar100": _Spec(100, 5_000, (3, 32, 32)),
}
_MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_TV_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is missing or incomplete under the dataset root."""


def check(dataset, split=None):
    """``ValueError`` naming the valid choices unless ``dataset`` (and ``split``) are known."""
    if dataset not in _SPECS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {DATASETS}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")


def num_classes(dataset: str) -> int:
    """Number of classes (10, 10 or 100)."""
    check(dataset)
    return _SPECS[dataset].n_classes


def input_shape(dataset: str) -> tuple:
    """Shape ``(C, H, W)`` of one transformed example."""
    check(dataset)
    return _SPECS[dataset].shape


# ---------------------------------------------------------------- raw readers
class DatasetCorruptError(DatasetNotFoundError):
    """A dataset file exists but is damaged (truncated, fails its checksum)."""


def _corrupt(path: Path, why: str) -> DatasetCorruptError:
    sums = path
    while sums.parent != sums and not (sums / "SHA256SUMS").exists():
        sums = sums.parent
    check = (f"`sha256sum -c SHA256SUMS` in {sums} lists the damaged files; "
             if (sums / "SHA256SUMS").exists() else "")
    return DatasetCorruptError(f"{path} is damaged ({why}): {check}replace it with a good "
                               f"copy, or delete it to let torchvision download the dataset")


def verify_checksums(root: Path, files) -> None:
    """Check ``files`` against ``<root>/SHA256SUMS`` when the root has one (the local
    mirror does); :class:`DatasetCorruptError` names the first file that differs."""
    import hashlib
    listing = Path(root) / "SHA256SUMS"
    if not listing.exists():
        return
    sums = {}
    for line in listing.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    for f in files:
        name = Path(f).relative_to(root).as_posix()
        if name in sums:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != sums[name]:
                raise _corrupt(Path(f), "its SHA-256 differs from SHA256SUMS")


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as err:
            raise _corrupt(path, f"not a complete gzip file: {err}") from err
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DatasetNotFoundError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise _corrupt(path, f"truncated: {data.size} of {np.prod(dims)} bytes")
    return data.reshape(tuple(int(d) for d in dims))


def find_mnist(root: Path, official_split: str):
    """The two IDX files (plain or .gz) of an official MNIST split under ``root``, or None."""
    raw_dir = root / "MNIST" / "raw"
    found = []
    for name in _MNIST_FILES[official_split]:
        cands = [raw_dir / name, raw_dir / f"{name}.gz"]
        hit = next((c for c in cands if c.exists()), None)
        if hit is None:
            return None
        found.append(hit)
    return found


def _decode_mnist(root: Path, official_split: str):
    files = find_mnist(root, official_split)
    if files is None:
        return None
    verify_checksums(root, files)
    images, labels = (_read_idx(f) for f in files)
    return images[:, None, :, :], labels.astype(np.int64)


def _decode_zip(path: Path, n_classes: int):
    from PIL import Image
    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".webp"))
        classes = sorted({n.split("/")[1] for n in names})
        if len(classes) != n_classes:
            raise DatasetNotFoundError(f"{path} holds {len(classes)} class folders, "
                                       f"expected {n_classes}")
        index = {c: i for i, c in enumerate(classes)}
        images = np.empty((len(names), 32, 32, 3), dtype=np.uint8)
        for i, name in enumerate(names):
            with Image.open(io.BytesIO(zf.read(name))) as im:
                images[i] = np.asarray(im.convert("RGB"))
        labels = np.array([index[n.split("/")[1]] for n in names], dtype=np.int64)
    return images.transpose(0, 3, 1, 2), labels


def _decode_cifar(root: Path, dataset: str, official_split: str):
    mirror = root / dataset / f"{official_split}.zip"
    if mirror.exists():
        verify_checksums(root, [mirror])
        try:
            return _decode_zip(mirror, _SPECS[dataset].n_classes)
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            raise _corrupt(mirror, f"{type(err).__name__}: {err}") from err
    if (root / _TV_FOLDERS[dataset]).is_dir():
        return _torchvision(root, dataset, official_split, download=False)
    return None


def _torchvision(root: Path, dataset: str, official_split: str, download: bool):
    import torchvision.datasets as tvd
    cls = {"mnist": tvd.MNIST, "cifar10": tvd.CIFAR10, "cifar100": tvd.CIFAR100}[dataset]
    ds = cls(str(root), train=official_split == "train", download=download)
    if dataset == "mnist":
        return ds.data.numpy()[:, None], ds.targets.numpy().astype(np.int64)
    return np.asarray(ds.data).transpose(0, 3, 1, 2), np.asarray(ds.targets, dtype=np.int64)


def _missing_message(root: Path, dataset: str, err=None) -> str:
    where = {"mnist": f"{root}/MNIST/raw/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte[.gz]",
             "cifar10": f"{root}/cifar10/{{train,test}}.zip or {root}/cifar-10-batches-py/",
             "cifar100": f"{root}/cifar100/{{train,test}}.zip or {root}/cifar-100-python/"}
    msg = (f"{dataset} not found: looked for {where[dataset]}. Provide the data by setting "
           f"NCURV_DATA to a folder in the local mirror layout (e.g. ../shared/data) or in "
           f"torchvision's layout, or let torchvision download it into {root} (needs network).")
    return msg + (f" Download failed: {err}" if err else "")


def _decode(root: Path, dataset: str, official_split: str):
    if dataset == "mnist":
        out = _decode_mnist(root, official_split)
    else:
        out = _decode_cifar(root, dataset, official_split)
    if out is not None:
        return out
    try:
        return _torchvision(root, dataset, official_split, download=True)
    except Exception as err:  # no network, bad checksum ...: report where we looked
        raise DatasetNotFoundError(_missing_message(root, dataset, err)) from err


def raw_arrays(dataset: str, official_split: str, root=None):
    """Decoded uint8 images ``(N, C, H, W)`` and int64 labels of an official split.

    Decoded once per dataset root and cached under ``<cache_root>/datasets/``.
    """
    check(dataset)
    root = Path(root) if root is not None else data_root()
    key = config_hash({"dataset": dataset, "split": official_split, "root": str(root.resolve())})
    path = cache_root() / "datasets" / f"{dataset}-{official_split}-{key}.npz"
    if path.exists():
        try:
            with np.load(path) as z:
                return z["images"], z["labels"]
        except Exception:
            pass  # corrupt cache file: decode again
    images, labels = _decode(root, dataset, official_split)
    expected = {"train": 60_000 if dataset == "mnist" else 50_000, "test": 10_000}[official_split]
    if len(images) != expected or len(labels) != expected:
        raise DatasetNotFoundError(f"{dataset} {official_split} under {root} is incomplete: "
                                   f"{len(images)} images, expected {expected}")
    buf = io.BytesIO()
    np.savez(buf, images=images, labels=labels)
    atomic_write_bytes(path, buf.getvalue())
    return images, labels


# ---------------------------------------------------------------- splits
def split_indices(dataset: str, split: str) -> np.ndarray:
    """Indices into the official training set of ``"train"`` or ``"val"`` (fixed seed)."""
    check(dataset, split)
    n_train = 60_000 if dataset == "mnist" else 50_000
    perm = np.random.default_rng(SPLIT_SEED).permutation(n_train)
    n_val = _SPECS[dataset].n_val
    return np.sort(perm[n_train - n_val:] if split == "val" else perm[:n_train - n_val])


def transform(dataset: str, images) -> torch.Tensor:
    """uint8 images ``(N, C, H, W)`` -> float32 tensor as the model sees it."""
    x = torch.from_numpy(np.asarray(images).astype(np.float32)) / 255.0
    if dataset != "mnist":
        mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
        x = (x - mean) / std
    return x


def load_split(dataset: str, split: str, root=None, limit=None):
    """Transformed images and labels of a split.

    Parameters
    ----------
    dataset : {"mnist", "cifar10", "cifar100"}
    split : {"train", "val", "test"}
    root : path, optional
        Dataset root; default :func:`ncurv_lib.paths.data_root`.
    limit : int, optional
        Keep a fixed random subset of ``limit`` examples, in split order (smoke runs).

    Returns
    -------
    x : torch.Tensor, float32, shape (N, C, H, W)
    y : torch.Tensor, int64, shape (N,)
    """
    check(dataset, split)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive int, got {limit}")
    if split == "test":
        images, labels = raw_arrays(dataset, "test", root)
    else:
        images, labels = raw_arrays(dataset, "train", root)
        idx = split_indices(dataset, split)
        images, labels = images[idx], labels[idx]
    if limit is not None and limit < len(labels):
        keep = np.sort(np.random.default_rng(SPLIT_SEED + 1).permutation(len(labels))[:limit])
        images, labels = images[keep], labels[keep]
    return transform(dataset, images), torch.as_tensor(labels)


def augment(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random horizontal flip and random crop with padding, batched (CIFAR training).

    Equivalent to torchvision's ``RandomHorizontalFlip()`` and
    ``RandomCrop(32, padding=4)`` applied before normalisation: the padding is
    black pixels, i.e. ``-mean/std`` per channel in the normalised space.
    """
    n, c, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    fill = (-torch.tensor(CIFAR_MEAN) / torch.tensor(CIFAR_STD)).to(x.dtype).view(1, c, 1, 1)
    padded = fill.expand(n, c, h + 2 * pad, w + 2 * pad).clone()
    padded[:, :, pad:pad + h, pad:pad + w] = x
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = dy.view(n, 1, 1) + torch.arange(h).view(1, h, 1)
    cols = dx.view(n, 1, 1) + torch.arange(w).view(1, 1, w)
    out = padded.permute(0, 2, 3, 1)[torch.arange(n).view(n, 1, 1), rows, cols]
    return out.permute(0, 3, 1, 2).contiguous()


def _first_per_class(labels, ok, per_class: int, classes, hint="") -> torch.Tensor:
    """Indices of the first ``per_class`` positions with ``ok`` of every class, by class."""
    if per_class < 1:
        raise ValueError(f"need at least 1 example per class, got {per_class}")
    classes = list(classes)
    if not classes:
        raise ValueError("no classes to pick examples of")
    picked = [torch.nonzero((labels == c) & ok).flatten()[:per_class] for c in classes]
    short = [c for c, idx in zip(classes, picked) if len(idx) < per_class]
    if short:
        raise ValueError(f"classes {short} have fewer than {per_class} eligible examples"
                         + (f" {hint}" if hint else ""))
    return torch.cat(picked)


def predict(model, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted labels (on the CPU) of ``model`` in eval mode on ``x``, batched."""
    device = next(model.parameters(), torch.empty(0)).device  # a model may hold no weights
    model.eval()
    with torch.no_grad():
        return torch.cat([model(xb.to(device)).argmax(1).cpu() for xb in x.split(batch_size)])


def calibration_indices(model, dataset: str, k=None, root=None, classes=None) -> torch.Tensor:
    """Validation indices of the first ``k`` correctly classified examples of each class.

    ``k`` None or 0 is the paper's value (10 for MNIST, 1 for CIFAR). ``classes``
    restricts to some labels (e.g. ``[0]`` for the one-example set of Fig. 7).
    The result is ordered by class, then by position in the validation split.
    """
    if k is not None and k < 0:
        raise ValueError(f"calibration examples per class must be >= 1, or 0 for the "
                         f"paper's; got {k}")
    k = k or (10 if dataset == "mnist" else 1)
    x, y = load_split(dataset, "val", root)
    classes = range(num_classes(dataset)) if classes is None else list(classes)
    hint = ("(correctly classified validation examples): the model misclassifies them; "
            "choose other classes (--calib-classes), fewer per class (--calib-k), or a "
            "better trained model (a longer scale)")
    return _first_per_class(y, predict(model, x) == y, k, classes, hint)


def calibration_size(dataset: str, k=None, classes=None) -> int:
    """Number of calibration examples of :func:`calibration_indices` (``k`` 0 or None:
    the paper's per-class count).

    >>> calibration_size("mnist"), calibration_size("cifar10", 1, [0, 1, 2, 3, 4])
    (100, 5)
    """
    k = k or (10 if dataset == "mnist" else 1)
    return k * (len(classes) if classes else num_classes(dataset))


def calibration_set(model, dataset: str, k=None, root=None, classes=None):
    """Calibration inputs and labels (see :func:`calibration_indices`)."""
    idx = calibration_indices(model, dataset, k, root, classes)
    x, y = load_split(dataset, "val", root)
    return x[idx], y[idx]


def pruning_batch(dataset: str, per_class: int = 10, root=None):
    """The first ``per_class`` training examples of each class (SNIP's batch)."""
    x, y = load_split(dataset, "train", root)
    idx = _first_per_class(y, torch.ones_like(y, dtype=torch.bool), per_class,
                           range(num_classes(dataset)))
    return x[idx], y[idx]
