"""A cgroup per sandbox: processes and memory for the whole sandbox."""
from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PIDS_MAX = 64                    # processes and threads in one sandbox, all together
MEMORY_OVERHEAD_MB = 768         # the worker's own memory (Python, NumPy, MNIST) on top of --memory


def _own_v2_cgroup() -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return CGROUP_ROOT / line[3:].lstrip("/")
    except OSError:
        pass
    return None


class Cgroup:
    """A cgroup holding one sandbox, with ``pids.max`` and a memory limit.

    ``RLIMIT_NPROC`` does not bind a sandbox started by root (the kernel
    exempts root's processes, and root is who they are outside their user
    namespace), so where this machine lets us, a fork storm meets a cgroup
    instead. Tried in order: a child of our own cgroup v2, then the v1
    ``pids`` and ``memory`` hierarchies. :meth:`create` returns ``None`` when
    none can be made (an ordinary user without delegation: there the rlimits
    apply).
    """

    def __init__(self, dirs: list[Path], kind: str):
        self.dirs = dirs
        self.kind = kind

    @classmethod
    def create(cls, name: str, memory_mb: int) -> "Cgroup | None":
        memory = (memory_mb + MEMORY_OVERHEAD_MB) * 1024 * 1024 if memory_mb > 0 else 0
        own = _own_v2_cgroup()
        if own is not None and (CGROUP_ROOT / "cgroup.controllers").exists():
            made = cls._make([(own / name, {"pids.max": PIDS_MAX, "memory.max": memory})], "cgroup v2")
            if made:
                return made
        return cls._make([(CGROUP_ROOT / "pids" / name, {"pids.max": PIDS_MAX}),
                          (CGROUP_ROOT / "memory" / name, {"memory.limit_in_bytes": memory})], "cgroup v1")

    @classmethod
    def _make(cls, plan, kind) -> "Cgroup | None":
        """Make each ``(folder, settings)``; the first is required, later ones optional."""
        made = []
        try:
            for i, (folder, settings) in enumerate(plan):
                if not folder.parent.is_dir():
                    if i == 0:
                        return None
                    continue
                folder.mkdir()
                made.append(folder)
                for key, value in settings.items():
                    if value:
                        (folder / key).write_text(str(value))
        except OSError:
            cls(made, kind).remove()
            return None
        return cls(made, kind)

    def enter(self, argv: list[str]) -> list[str]:
        """``argv`` prefixed so that it runs inside this cgroup from its first instruction."""
        procs = " ".join(f"'{d / 'cgroup.procs'}'" for d in self.dirs)
        script = f'for f in {procs}; do echo $$ > "$f" || exit 97; done; exec "$@"'
        return ["/bin/sh", "-c", script, "nncheck-sandbox", *argv]

    def remove(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        import signal
        import time

        for folder in self.dirs:
            for attempt in range(60):
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    folder.rmdir()
                    break
                except OSError:  # its killed processes are still exiting: gone within 1-9 ms here
                    time.sleep(min(0.02, 0.001 * 2 ** attempt))
