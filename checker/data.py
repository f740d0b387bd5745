"""MNIST loading, preprocessed like the notebook's ``preprocessed_mnist.load_dataset``.

Images become float64 rows of 784 grey levels in [0, 1]; labels are int64.
Nothing is ever downloaded.

* ``load_dataset()`` uses the embedded 5,000-digit subset (``data/mnist_5k.npz``,
  500 per class, stored sorted by class). The validation set is a fixed
  class-stratified draw of ``n_val`` digits chosen by ``seed``; both sets are
  shuffled with the same seed, so the same arguments always give the same arrays.
* ``load_dataset(path)`` loads the full MNIST from a Keras ``mnist.npz``
  (keys ``x_train``, ``y_train``, ``x_test``, ``y_test``) or from a folder
  holding the four IDX files (``train-images-idx3-ubyte`` ...,
  optionally ``.gz``). As in the notebook, the validation set is the *last*
  ``n_val`` digits of the official training set and the rest is the training
  set, in file order (``seed`` is not used); the official test set is not
  returned. The notebook used ``n_val=10000``.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import functools

import numpy as np

__all__ = ["EMBEDDED", "DataError", "load_dataset", "read_idx", "preprocess"]

EMBEDDED = Path(__file__).parent / "data" / "mnist_5k.npz"
"""The 5,000-digit MNIST subset shipped with nncheck (see ``data/README.md``)."""

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataError(ValueError):
    """A dataset file is missing, of an unknown kind, or malformed."""


def preprocess(images, labels):
    """``images`` ``[n, 28, 28]`` (0-255) -> ``[n, 784]`` float64 in [0, 1]; labels -> ``[n]`` int64."""
    images = np.asarray(images)
    X = images.reshape(len(images), -1).astype(np.float64) / 255.0
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(X) != len(y):
        raise DataError(f"{len(X)} images but {len(y)} labels: the files do not belong together.")
    return X, y


def read_idx(path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a NumPy array of its declared shape."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"IDX file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise DataError(f"Cannot read IDX file {path}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number {raw[:4].hex() or 'empty'}).")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated: its header declares {ndim} dimensions.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{path} holds {len(raw) - header} data bytes but its header {shape} needs {expected}."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(folder: Path, stem: str) -> Path:
    candidates = [stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"]
    for name in candidates:
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder} has no {stem} (or {stem}.gz): expected the four MNIST IDX files "
                    f"({', '.join(IDX_FILES.values())}) or a Keras mnist.npz.")


def _load_full(path: Path):
    """Return ``(train_images, train_labels)`` of the full MNIST at ``path``."""
    if path.is_dir():
        if (path / "mnist.npz").is_file() and not (path / IDX_FILES["train_images"]).exists() \
                and not (path / (IDX_FILES["train_images"] + ".gz")).exists():
            return _load_full(path / "mnist.npz")
        images = read_idx(_find_idx(path, IDX_FILES["train_images"]))
        labels = read_idx(_find_idx(path, IDX_FILES["train_labels"]))
        return images, labels
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                if "x_train" not in data.files or "y_train" not in data.files:
                    raise DataError(f"{path} is not a Keras mnist.npz: it has keys {data.files}, "
                                    "not x_train/y_train/x_test/y_test.")
                return data["x_train"], data["y_train"]
        except DataError:
            raise
        except Exception as exc:  # zipfile / pickle errors
            raise DataError(f"Cannot read {path} as a NumPy .npz file: {exc}") from exc
    raise DataError(f"Unknown dataset file {path}: give a Keras mnist.npz or a folder with the four MNIST IDX files.")


def _stratified_split(y, n_val, rng):
    """Return ``(train_idx, val_idx)``: ``n_val`` indices spread evenly over the classes."""
    perm = rng.permutation(len(y))
    # rank of each sample within its class, in permuted order; sorting by rank
    # interleaves the classes round-robin, so any prefix is (nearly) stratified
    labels = y[perm]
    rank = np.empty(len(y), dtype=np.int64)
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        rank[where] = np.arange(len(where))
    order = perm[np.argsort(rank, kind="stable")]
    val_idx = rng.permutation(order[:n_val])
    train_idx = rng.permutation(order[n_val:])
    return train_idx, val_idx


@functools.lru_cache(maxsize=4)
def _embedded_split(n_val: int, seed: int):
    """The embedded digits, split: read and preprocessed once per process.

    The grading worker calls this before it forks its probe children, so
    they share the arrays instead of each decompressing the file again.
    """
    source = EMBEDDED
    if not source.is_file():
        raise DataError(f"The embedded dataset {source} is missing: reinstall nncheck.")
    with np.load(source, allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    train_idx, val_idx = _split_indices(y, n_val, seed)
    # split the bytes, then convert: the same arrays as converting first, at an eighth of the copying
    X_train, y_train = preprocess(images[train_idx], y[train_idx])
    X_val, y_val = preprocess(images[val_idx], y[val_idx])
    return X_train, y_train, X_val, y_val


def _split_indices(y, n_val: int, seed: int):
    if not 0 < n_val < len(y):
        raise DataError(f"n_val must be between 1 and {len(y) - 1}, got {n_val}.")
    return _stratified_split(y, n_val, np.random.default_rng(seed))


@functools.lru_cache(maxsize=4)
def _embedded_labels(n_val: int, seed: int):
    source = EMBEDDED
    if not source.is_file():
        raise DataError(f"The embedded dataset {source} is missing: reinstall nncheck.")
    with np.load(source, allow_pickle=False) as data:  # reads the labels' member only
        y = np.asarray(data["labels"]).astype(np.int64).reshape(-1)
    train_idx, val_idx = _split_indices(y, n_val, seed)
    return y[train_idx], y[val_idx]


def load_labels(path=None, n_val=1000, seed=0):
    """``(y_train, y_val)`` of :func:`load_dataset` with the same arguments, without the images:
    what a grading process needs to judge predictions (the embedded file's labels alone are
    read in a millisecond; its images take a tenth of a second to convert)."""
    if path is None:
        return tuple(a.copy() for a in _embedded_labels(n_val, seed))
    _, y_train, _, y_val = load_dataset(path, n_val=n_val, seed=seed)
    return y_train, y_val


def load_dataset(path=None, n_val=1000, seed=0):
    """Load MNIST as ``(X_train [n, 784], y_train [n], X_val [n_val, 784], y_val [n_val])``.

    ``X`` are float64 in [0, 1], ``y`` int64 in 0..9. Without ``path``, the
    embedded 5,000 digits split 4,000/1,000 by default (deterministic in
    ``seed``); with ``path`` (a Keras ``mnist.npz`` or a folder of IDX files),
    the full training set with its last ``n_val`` digits as validation.
    Raises ``DataError`` for a missing or unrecognised file.
    """
    if path is None:
        return tuple(a.copy() for a in _embedded_split(n_val, seed))

    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"Dataset path {path} does not exist: give a Keras mnist.npz or a folder "
                        "with the four MNIST IDX files (nothing is downloaded).")
    images, labels = _load_full(path)
    X, y = preprocess(images, labels)
    if not 0 < n_val < len(y):
        raise DataError(f"n_val must be between 1 and {len(y) - 1} for {path}, got {n_val}.")
    return X[:-n_val], y[:-n_val], X[-n_val:], y[-n_val:]
