"""Stand-in for IPython.display: ``display``, ``clear_output``, ``HTML``... do nothing."""


def _noop(*args, **kwargs):
    return None


display = clear_output = HTML = Markdown = Image = Math = Latex = SVG = JSON = _noop


def __getattr__(name):
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    return _noop
