"""Stand-in for IPython while grading: display helpers are no-ops."""


def _noop(*args, **kwargs):
    return None


def get_ipython():
    return None


def __getattr__(name):
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    if name == "display":
        import importlib
        return importlib.import_module(__name__ + ".display")
    return _noop
