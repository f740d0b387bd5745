"""Null matplotlib: nothing is drawn while grading. Any attribute is a null
object: callable, indexable, unpackable into two nulls (``fig, ax = plt.subplots()``)."""


class _Null:
    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self

    def __setattr__(self, name, value):
        pass

    def __getitem__(self, key):
        return self

    def __setitem__(self, key, value):
        pass

    def __iter__(self):
        # ``fig, ax = plt.subplots()`` and ``for ax in axes`` both work
        return iter((self, self))

    def __len__(self):
        return 2

    def __bool__(self):
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return "<null>"


NULL = _Null()


def null_getattr(name):
    """Module ``__getattr__``: unknown names are the null object."""
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    return NULL


__version__ = "0.0-nncheck-null"
__getattr__ = null_getattr


def use(*args, **kwargs):
    return None
