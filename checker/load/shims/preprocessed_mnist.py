"""Stand-in for the course's preprocessed_mnist: its loader does not run while grading.

The checks that train a network use nncheck's own MNIST digits, so a top-level
``load_dataset()`` call raises :class:`DataLoaderReplaced`; the grader turns it
into one calm note (``load["data_loader"]``), shown with the checks that train,
instead of a warning.
"""


class DataLoaderReplaced(RuntimeError):
    """The course's data loader was called while grading."""


def load_dataset(flatten=False):
    raise DataLoaderReplaced("the course's data loader was replaced by nncheck's own data")
