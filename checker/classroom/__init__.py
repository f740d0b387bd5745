"""Grading a class, the platforms' autograders and Jupyter."""
