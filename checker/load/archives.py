"""Unpacking a student's ``.zip`` safely: no absolute paths, no ``..``, no links,
no zip bombs (bounded total size, member count and compression ratio).
"""
from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

MAX_ZIP_BYTES = 50 * 1024 * 1024   # total uncompressed size
MAX_ZIP_MEMBERS = 2000             # files and folders in one archive
MAX_ZIP_RATIO = 200                # uncompressed / compressed size of one member (zip bombs)
_ZIP_JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")


class UnsafeArchive(Exception):
    """A student's .zip cannot be unpacked safely (or at all); the message says why."""


def _member_path(name: str) -> PurePosixPath | None:
    """The safe relative path of a zip member, None for junk; raises UnsafeArchive otherwise."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise UnsafeArchive(f"it holds a file with an absolute path ({name!r})")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafeArchive(f"it holds a path that leaves the archive ({name!r})")
    if not parts or any(p in _ZIP_JUNK or p.startswith("._") for p in parts):
        return None
    return PurePosixPath(*parts)


def safe_extract(archive, dest: str | os.PathLike, *, max_bytes: int = MAX_ZIP_BYTES,
                 max_members: int = MAX_ZIP_MEMBERS) -> Path:
    """Unpack ``archive`` (a path or bytes) into ``dest`` and return what to grade.

    Refused (:class:`UnsafeArchive`): absolute paths, ``..``, symbolic links,
    encrypted members, more than ``max_members`` members, more than
    ``max_bytes`` uncompressed (counted while writing, not trusted from the
    header), a member inflating more than ``MAX_ZIP_RATIO`` times. macOS
    ``__MACOSX``/``._*`` and ``.DS_Store`` entries are dropped.

    What to grade: the single folder at the top of the archive if there is
    just one (``alice/...``), the single ``.py`` or notebook if that is all it
    holds, the extracted folder otherwise.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    src = io.BytesIO(archive) if isinstance(archive, (bytes, bytearray)) else archive
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeArchive(f"it is not a readable zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise UnsafeArchive(f"it holds {len(infos)} entries (at most {max_members} are unpacked)")
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise UnsafeArchive(f"it unpacks to {declared / 2**20:.0f} MB (at most {max_bytes / 2**20:.0f} MB)")
        written = 0
        for info in infos:
            rel = _member_path(info.filename)
            if rel is None:
                continue
            if info.flag_bits & 0x1:
                raise UnsafeArchive(f"{info.filename} is encrypted")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchive(f"{info.filename} is a symbolic link")
            target = dest.joinpath(*rel.parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO \
                    and info.file_size > 1 << 20:
                raise UnsafeArchive(f"{info.filename} inflates {info.file_size // info.compress_size}x "
                                    "(a zip bomb?)")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as fin, open(target, "wb") as fout:
                    while True:
                        chunk = fin.read(1 << 16)
                        if not chunk:
                            break
                        written += len(chunk)
                        if written > max_bytes:
                            raise UnsafeArchive(f"it unpacks to more than {max_bytes / 2**20:.0f} MB")
                        fout.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                raise UnsafeArchive(f"{info.filename} cannot be unpacked ({exc})") from None
    root = dest
    for _ in range(8):  # zip of a folder: descend into the single top folder
        kids = [k for k in root.iterdir() if not k.name.startswith(".")]
        if len(kids) == 1 and kids[0].is_dir():
            root = kids[0]
        else:
            break
    kids = [k for k in root.iterdir() if not k.name.startswith(".")]
    if len(kids) == 1 and kids[0].is_file() and kids[0].suffix.lower() in (".py", ".ipynb"):
        return kids[0]
    if not kids:
        raise UnsafeArchive("it is empty")
    return root
