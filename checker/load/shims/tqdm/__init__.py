"""Stand-in for tqdm while grading: no progress bars."""


class _Bar:
    """What ``tqdm(total=...)`` (no iterable) returns: a bar that does nothing."""

    def __init__(self, *args, **kwargs):
        self.n = 0

    def update(self, n=1):
        self.n += n

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: None

    def __iter__(self):
        return iter(())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def tqdm(iterable=None, *args, **kwargs):
    """Return ``iterable`` unchanged (a do-nothing bar when there is none)."""
    if iterable is None:
        return _Bar()
    return iterable


def _write(*args, **kwargs):
    return None


tqdm.write = _write
tqdm_notebook = tqdm


def trange(*args, **kwargs):
    return range(*args)


tnrange = trange
