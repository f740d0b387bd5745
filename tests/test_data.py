"""The MNIST loaders: embedded subset, Keras npz, IDX files (plain and gzipped)."""
import gzip
import struct

import numpy as np
import pytest

from nncheck.data import EMBEDDED, DataError, load_dataset, read_idx


def test_embedded_shapes_dtypes_range():
    X_train, y_train, X_val, y_val = load_dataset()
    assert X_train.shape == (4000, 784) and X_val.shape == (1000, 784)
    assert y_train.shape == (4000,) and y_val.shape == (1000,)
    assert X_train.dtype == np.float64 and X_val.dtype == np.float64
    assert y_train.dtype == np.int64 and y_val.dtype == np.int64
    assert X_train.min() >= 0 and X_train.max() <= 1 and X_train.max() == 1.0
    assert set(np.unique(y_train)) == set(range(10))


def test_embedded_split_is_deterministic_stratified_and_disjoint():
    a = load_dataset()
    b = load_dataset()
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    X_train, y_train, X_val, y_val = a
    assert np.all(np.bincount(y_val, minlength=10) == 100)
    assert np.all(np.bincount(y_train, minlength=10) == 400)
    # the stored file is sorted by class: the split must be shuffled
    assert len(np.unique(y_train[:50])) > 5 and len(np.unique(y_val[:50])) > 5
    # no digit is in both sets, and together they are the whole file
    raw = np.load(EMBEDDED)["images"].reshape(5000, -1)
    keys = {r.tobytes() for r in raw}
    train_keys = {(r * 255).round().astype(np.uint8).tobytes() for r in X_train}
    val_keys = {(r * 255).round().astype(np.uint8).tobytes() for r in X_val}
    assert train_keys | val_keys <= keys
    assert len(X_train) + len(X_val) == 5000
    assert len(train_keys & val_keys) <= 5  # MNIST has a few duplicate images at most


def test_seed_and_n_val_change_the_split():
    a = load_dataset(seed=0)
    c = load_dataset(seed=1)
    assert not np.array_equal(a[3], c[3])
    X_train, _, X_val, y_val = load_dataset(n_val=500)
    assert X_val.shape == (500, 784) and X_train.shape == (4500, 784)
    assert np.all(np.bincount(y_val, minlength=10) == 50)
    with pytest.raises(DataError):
        load_dataset(n_val=0)


def _fake(n_train=30, n_test=8, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n_train, dtype=np.uint8),
            rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n_test, dtype=np.uint8))


def _idx_bytes(arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def _write_idx_folder(folder, arrays, gz=False):
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    folder.mkdir()
    for name, arr in zip(names, arrays):
        data = _idx_bytes(arr)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def _check_full(result, arrays, n_val):
    x_train, y_train = arrays[0], arrays[1]
    X_tr, y_tr, X_v, y_v = result
    assert X_tr.shape == (len(x_train) - n_val, 784) and X_v.shape == (n_val, 784)
    assert X_tr.dtype == np.float64 and y_tr.dtype == np.int64
    assert np.allclose(X_tr, x_train[:-n_val].reshape(-1, 784) / 255.0)
    assert np.allclose(X_v, x_train[-n_val:].reshape(-1, 784) / 255.0)
    assert np.array_equal(y_tr, y_train[:-n_val]) and np.array_equal(y_v, y_train[-n_val:])


def test_keras_npz(tmp_path):
    arrays = _fake()
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    _check_full(load_dataset(path, n_val=7), arrays, 7)
    _check_full(load_dataset(str(tmp_path), n_val=7), arrays, 7)  # folder holding mnist.npz


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder(tmp_path, gz):
    arrays = _fake(seed=int(gz))
    folder = tmp_path / "mnist"
    _write_idx_folder(folder, arrays, gz=gz)
    _check_full(load_dataset(folder, n_val=10), arrays, 10)
    suffix = ".gz" if gz else ""
    assert np.array_equal(read_idx(folder / ("t10k-images-idx3-ubyte" + suffix)), arrays[2])


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "nope.npz")
    assert issubclass(DataError, ValueError)


def test_unknown_or_broken_files(tmp_path):
    txt = tmp_path / "mnist.csv"
    txt.write_text("1,2,3")
    with pytest.raises(DataError, match="Unknown dataset file"):
        load_dataset(txt)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_dataset(empty)
    wrong = tmp_path / "other.npz"
    np.savez(wrong, a=np.zeros(3))
    with pytest.raises(DataError, match="x_train"):
        load_dataset(wrong)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(b"\x12\x34\x56\x78" + b"\0" * 20)
    (bad / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="magic number"):
        load_dataset(bad)
    short = tmp_path / "short-idx1-ubyte"
    short.write_bytes(_idx_bytes(np.zeros(5, np.uint8))[:-2])
    with pytest.raises(DataError, match="needs"):
        read_idx(short)
    mismatched = tmp_path / "mismatch"
    _write_idx_folder(mismatched, (np.zeros((4, 28, 28), np.uint8), np.zeros(3, np.uint8),
                                   np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8)))
    with pytest.raises(DataError, match="4 images but 3 labels"):
        load_dataset(mismatched, n_val=1)
