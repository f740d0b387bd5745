"""Parsing student source: one thread-safe :func:`parse`, and a file that does not parse.

Every parse in nncheck goes through :func:`parse` (the loader, option
discovery, pointing, the selftest). A file with a syntax error is not
thrown away: :func:`salvage` parses it chunk by chunk (chunks start at
column-0 lines), so the definitions around the error still load.
"""
from __future__ import annotations

import ast
import re
import threading
import time
import warnings

__all__ = ["parse", "first_error", "describe_syntax_error", "salvage"]

_PARSE_LOCK = threading.Lock()


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    """``ast.parse``, safe to call from several threads: every parse in nncheck goes through here.

    CPython 3.11's parser is not thread-safe (two parses at once can raise
    ``SystemError: AST constructor recursion depth mismatch``), and the grader
    parses in threads (``nncheck selftest``). Parses are serialised; one that
    still meets the race (a library parsing on its own) is tried again.
    Errors in the source (``SyntaxError``, ``ValueError``...) are raised as
    ``ast.parse`` raises them; its warnings (``invalid escape sequence`` in a
    student's docstring) are the student's business, not the grader's output.
    """
    for attempt in range(5):
        try:
            with _PARSE_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.parse(source, filename, mode)
        except SystemError:
            if attempt == 4:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def first_error(text: str, filename: str):
    """``(None, tree)`` when ``text`` parses, else ``(the error, None)``."""
    try:
        return None, parse(text, filename)
    except SyntaxError as exc:
        return exc, None
    except (ValueError, MemoryError, RecursionError) as exc:  # null bytes, too deep
        return exc, None


def describe_syntax_error(exc) -> str:
    """``"line 3: invalid syntax"`` for a report (the message alone for other errors)."""
    if isinstance(exc, SyntaxError):
        return f"line {exc.lineno}: {exc.msg}" if exc.lineno else str(exc.msg)
    return str(exc)


_BOUNDARY = re.compile(r"[^\s#)\]}]")
_CONTINUATION = re.compile(r"(else|elif|except|finally)\b")


def salvage(text: str, filename: str):
    """Parse a file that does not parse as a whole, chunk by chunk (chunks start
    at column-0 lines). Returns ([(tree, offset, lines)], [(first, last)]) of
    parsed chunks and skipped line ranges."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, ln in enumerate(lines)
              if _BOUNDARY.match(ln) and not _CONTINUATION.match(ln)]
    # (a decorator chunk does not parse alone and is extended to its def)
    if not starts or starts[0] != 0:
        starts = [0] + starts
    bounds = starts + [len(lines)]
    parsed, skipped = [], []
    i = 0
    while i < len(bounds) - 1:
        ok = False
        for j in range(i + 1, min(i + 12, len(bounds))):
            chunk = "".join(lines[bounds[i]:bounds[j]])
            try:
                tree = parse(chunk, filename)
            except (SyntaxError, ValueError):
                continue
            parsed.append((tree, bounds[i], lines[bounds[i]:bounds[j]]))
            i = j
            ok = True
            break
        if not ok:
            first, last = bounds[i] + 1, bounds[i + 1]
            if skipped and skipped[-1][1] == first - 1:
                skipped[-1] = (skipped[-1][0], last)
            else:
                skipped.append((first, last))
            i += 1
    return parsed, skipped

