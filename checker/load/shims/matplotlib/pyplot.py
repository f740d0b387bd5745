"""Null pyplot: every function is a no-op returning a null object."""
from matplotlib import NULL as _NULL, null_getattr as _ga


def __getattr__(name):
    return _ga(name)


def subplots(*args, **kwargs):
    return _NULL


def figure(*args, **kwargs):
    return _NULL


def show(*args, **kwargs):
    return None
