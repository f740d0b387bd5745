"""Stand-in for the course's tqdm_utils: progress bars are not shown while grading."""


def tqdm_notebook_failsafe(iterable, *args, **kwargs):
    """Return ``iterable`` unchanged."""
    return iterable


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return tqdm_notebook_failsafe
