"""Stand-in for the course's preprocessed_mnist: no dataset while grading."""


def load_dataset(flatten=False):
    raise RuntimeError("MNIST is not available while grading; nncheck supplies its own data")
