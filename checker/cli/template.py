"""Copy the student template (``assignment.py``) to a folder of the student's choice."""
from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

__all__ = ["TEMPLATE_FILES", "template_source", "write_template"]

TEMPLATE_FILES = ("assignment.py",)
"""Files of ``nncheck.student_template`` that a student receives."""


def template_source(name: str = "assignment.py") -> Path:
    """Return the path of one template file shipped with nncheck."""
    return Path(str(resources.files("nncheck.student_template").joinpath(name)))


def write_template(dest_dir, force: bool = False) -> list[Path]:
    """Copy the template files into ``dest_dir`` (created if missing).

    Returns the paths written. Raises ``FileExistsError`` if a file would be
    overwritten and ``force`` is False, before writing anything.
    """
    dest = Path(dest_dir)
    if dest.exists() and not dest.is_dir():
        raise NotADirectoryError(f"{dest} exists and is not a folder; give a folder to write the template into.")
    targets = [dest / name for name in TEMPLATE_FILES]
    if not force:
        existing = [str(t) for t in targets if t.exists()]
        if existing:
            raise FileExistsError(
                f"Refusing to overwrite {', '.join(existing)}: it may hold your work. "
                "Choose another folder, move the file away, or pass force=True to replace it."
            )
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, target in zip(TEMPLATE_FILES, targets):
        shutil.copyfile(template_source(name), target)
        written.append(target)
    return written
