"""Loading a submission: from a .py file, a folder, a zip or a notebook to a load plan."""
