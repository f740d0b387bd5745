from tqdm import tqdm, trange, tqdm_notebook, tnrange  # noqa: F401
