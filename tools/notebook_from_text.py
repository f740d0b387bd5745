"""Rebuild a Jupyter notebook from the text export in shared/assignment/.

The text export shows code cells as ``In [N]:`` followed by a fenced block
and everything else as markdown. Used once to make
``examples/submissions/original_notebook.ipynb`` (a real student's
submission, bugs included); rerun it if the text changes::

    python tools/notebook_from_text.py ../shared/assignment/original_notebook.txt OUT.ipynb
"""
import ast
import re
import sys

import nbformat


def unwrap(source: str, tries: int = 8) -> str:
    """Undo the text export's 80-column wrapping where it broke the syntax.

    The export split long lines (inside strings and comments); join a broken
    line with its neighbour while that makes the cell parse further.
    """
    lines = source.split("\n")
    for _ in range(tries):
        try:
            ast.parse("\n".join(lines))
            break
        except SyntaxError as exc:
            at = (exc.lineno or 1) - 1
            for a in (at, at - 1):
                if 0 <= a < len(lines) - 1:
                    candidate = lines[:a] + [lines[a] + lines[a + 1].lstrip()] + lines[a + 2:]
                    try:
                        ast.parse("\n".join(candidate))
                    except SyntaxError as again:
                        if (again.lineno or 0) <= (exc.lineno or 0):
                            continue
                    lines = candidate
                    break
            else:
                break
    return "\n".join(lines)


def convert(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    lines = text.splitlines()
    i, markdown, count = 0, [], None
    while i < len(lines):
        m = re.match(r"^In \[(\d*)\]:\s*$", lines[i])
        if m:
            count = int(m.group(1)) if m.group(1) else None
            i += 1
            continue
        if lines[i].strip() == "```":
            if any(s.strip() for s in markdown):
                nb.cells.append(nbformat.v4.new_markdown_cell("\n".join(markdown).strip()))
            markdown = []
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            cell = nbformat.v4.new_code_cell(unwrap("\n".join(lines[i + 1:j]).strip("\n")))
            cell.execution_count = count
            nb.cells.append(cell)
            count = None
            i = j + 1
            continue
        markdown.append(lines[i])
        i += 1
    if any(s.strip() for s in markdown):
        nb.cells.append(nbformat.v4.new_markdown_cell("\n".join(markdown).strip()))
    return nb


if __name__ == "__main__":
    src, dest = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        nb = convert(f.read())
    nbformat.validate(nb)
    nbformat.write(nb, dest)
    print(f"{dest}: {sum(c.cell_type == 'code' for c in nb.cells)} code cells, "
          f"{sum(c.cell_type == 'markdown' for c in nb.cells)} markdown cells")
