"""Correct variants in every submission form: one .py, a flat folder, a notebook.

Generated from the reference modules, so they never drift from it: the same
code must get the same grade however a student hands it in.
"""
import json
import re

import nncheck
from nncheck.variants import REFERENCE_DIR, correct

MODULES = ("layers", "loss", "network", "options", "regularization")


def _source(module: str) -> str:
    return (REFERENCE_DIR / f"{module}.py").read_text(encoding="utf-8")


def _flat(module: str) -> str:
    """The module with ``from .x import y`` turned into plain ``from x import y``."""
    return re.sub(r"^from \.(\w+) import", r"from \1 import", _source(module), flags=re.M)


def _single_file() -> str:
    """All modules in one file, relative imports dropped (the names are already defined)."""
    parts = [re.sub(r"^from \.\w+ import .*$", "", _source(m), flags=re.M) for m in MODULES]
    return "\n\n".join(parts)


def _notebook() -> str:
    """A notebook as students hand it in: magics, helper imports, one module per cell,
    experiment code at the top level, and a later redefinition past the heading."""
    cells = [
        ("code", "%matplotlib inline\nimport sys\nsys.path.append('..')\nimport tqdm_utils\n"
                 "import download_utils\n!pip install -q numpy"),
        ("markdown", "# Your very own neural network"),
    ]
    for m in MODULES:
        cells.append(("code", re.sub(r"^from \.\w+ import .*$", "", _source(m), flags=re.M)))
    cells += [
        ("code", "from preprocessed_mnist import load_dataset\n"
                 "X_train, y_train, X_val, y_val, X_test, y_test = load_dataset(flatten=True)\n"
                 "network = [Dense(784, 100), ReLU(), Dense(100, 10)]\n"
                 "for epoch in range(25):\n"
                 "    for xb, yb in iterate_minibatches(X_train, y_train, 32, shuffle=True):\n"
                 "        train(network, xb, yb)\n"
                 "    print(epoch)"),
        ("markdown", "## Peer-reviewed assignment\nOption III: an experiment."),
        ("code", "def train(network, X, y):\n    return 0.0  # an experiment's rewrite: set aside"),
    ]
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"language_info": {"name": "python"}},
          "cells": []}
    for i, (kind, text) in enumerate(cells):
        cell = {"cell_type": kind, "metadata": {}, "source": text, "id": f"c{i}"}
        if kind == "code":
            cell.update(execution_count=i, outputs=[])
        nb["cells"].append(cell)
    return json.dumps(nb, indent=1)


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    return [
        correct("form-single-py", files={"submission.py": _single_file()},
                description="the reference as one .py file"),
        correct("form-flat-folder", files={f"{m}.py": _flat(m) for m in MODULES},
                description="a folder of modules importing each other by plain name"),
        correct("form-notebook", files={"homework.ipynb": _notebook()},
                description="a notebook with magics, helper imports, a training loop and a later rewrite"),
    ]
