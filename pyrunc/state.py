"""The state directory: `<root>/<id>/` holding state.json, exec.fifo (while the
container is `created`) and serving as the lock every mutating command takes.

Status is never stored; it is derived when read (runtime.md#runtimeState):
  creating  the record says create is still running, and that process lives
  stopped   the init is gone, is a zombie, or its pid was reused (start time)
  paused    the container's cgroup is frozen
  created   the exec fifo still exists (init is blocked before execve)
  running   otherwise
"""
from __future__ import annotations

import errno
import fcntl
import os
import time

from . import OCI_VERSION, jsonio
from .errors import ContainerExists, ContainerNotExist, PyruncError
from .linux import fileio, proc

STATE_FILE = "state.json"
FIFO = "exec.fifo"
# How long a command waits for another one on the same container (create
# holds the lock while hooks run, which may take a while).
LOCK_TIMEOUT = 60.0
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")


def default_root() -> str:
    """runc's rule: /run/<name> for root, $XDG_RUNTIME_DIR/<name> for a non-root
    user (or root in a user namespace whose $USER is not root)."""
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and (os.geteuid() != 0 or (proc.in_user_namespace()
                                      and os.environ.get("USER", "root") != "root")):
        return os.path.join(xdg, "pyrunc")
    return "/run/pyrunc"


def resolve_root(given: str | None) -> str:
    if not given:
        return default_root()
    path = os.path.abspath(given)
    if path == "/":
        raise PyruncError("--root must not be /")
    return path


def validate_id(cid: str) -> None:
    """runc's container ID rule: [A-Za-z0-9_+.-]+, but not '.' or '..'."""
    if not cid or cid in (".", "..") or not _ID_CHARS.issuperset(cid):
        raise PyruncError(f"invalid container ID format: {cid!r}")


def rfc3339_now() -> str:
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


class Record:
    """What state.json holds: the OCI state fields plus everything later
    commands need, since they arrive without create's flags."""

    def __init__(self, data: dict) -> None:
        self.data = data

    # --- OCI state fields -------------------------------------------------
    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def pid(self) -> int:
        return self.data.get("pid", 0)

    @property
    def bundle(self) -> str:
        return self.data["bundle"]

    @property
    def config(self) -> dict:
        return self.data.get("config", {})

    @property
    def cgroup(self) -> dict:
        return self.data.get("cgroup", {})

    def oci_state(self, status: str, pid_visible: bool = True) -> dict:
        """The state object of runtime.md (with runc's extra rootfs/created/owner)."""
        out = {
            "ociVersion": self.data.get("ociVersion", OCI_VERSION),
            "id": self.id,
            "pid": self.pid if (pid_visible and status not in ("stopped",)) else 0,
            "status": status,
            "bundle": self.bundle,
            "rootfs": self.data.get("rootfs", ""),
            "created": self.data.get("created", ""),
        }
        if self.data.get("annotations"):
            out["annotations"] = self.data["annotations"]
        out["owner"] = ""
        return out


class ContainerDir:
    """One container's state directory."""

    def __init__(self, root: str, cid: str) -> None:
        validate_id(cid)
        self.root = root
        self.id = cid
        self.path = os.path.join(root, cid)
        self._lock_fd: int | None = None

    @property
    def fifo_path(self) -> str:
        return os.path.join(self.path, FIFO)

    def exists(self) -> bool:
        return os.path.isdir(self.path)

    # --- reservation and removal -----------------------------------------
    def reserve(self) -> None:
        """Create the directory: its creation is the uniqueness check."""
        os.makedirs(self.root, 0o700, exist_ok=True)
        try:
            os.mkdir(self.path, 0o711)
        except FileExistsError:
            raise ContainerExists(self.id) from None

    def remove(self) -> None:
        """Remove the directory and what it holds (flat: no subdirectories)."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return
        for name in names:
            try:
                os.unlink(os.path.join(self.path, name))
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.path)
        except FileNotFoundError:
            pass

    # --- locking ------------------------------------------------------------
    def lock(self, timeout: float = LOCK_TIMEOUT) -> None:
        """Take the exclusive lock every mutating command holds (flock on the
        directory itself, released when the process exits). Waits for a
        command in progress (a create holds it until it returns), but not
        forever."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ContainerNotExist(self.id) from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise PyruncError(f"container {self.id} is locked by another pyrunc "
                                      f"command (waited {timeout:g}s)") from None
                time.sleep(0.005)
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- state.json ---------------------------------------------------------
    def load(self) -> Record:
        try:
            with open(os.path.join(self.path, STATE_FILE), "rb") as f:
                raw = f.read()
        except (FileNotFoundError, NotADirectoryError):
            raise ContainerNotExist(self.id) from None
        try:
            data = jsonio.loads(raw)
        except ValueError as err:
            raise PyruncError(f"corrupt state file {self.path}/{STATE_FILE}: {err}") from None
        return Record(data)  # type: ignore[arg-type]

    def save(self, record: Record) -> None:
        """Write state.json atomically: a temp file renamed over the old one."""
        fileio.write_atomic(os.path.join(self.path, STATE_FILE),
                            jsonio.dumps(record.data).encode(), 0o600)

    # --- status -------------------------------------------------------------
    def status(self, record: Record) -> str:
        data = record.data
        if data.get("creating"):
            creator = data.get("creator_pid", 0)
            if proc.is_alive(creator, data.get("creator_start", -1)):
                return "creating"
            return "stopped"
        if not proc.is_alive(record.pid, data.get("pid_start", -1)):
            return "stopped"
        if _frozen(record):
            return "paused"
        if os.path.exists(self.fifo_path):
            return "created"
        return "running"


def _frozen(record: Record) -> bool:
    freezer = record.cgroup.get("freezer_file")
    if not freezer:
        return False
    try:
        with open(freezer) as f:
            value = f.read().strip()
    except OSError:
        return False
    return value in ("FROZEN", "FREEZING", "1")


def list_ids(root: str) -> list[str]:
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if os.path.isdir(os.path.join(root, n))
                  and _ID_CHARS.issuperset(n) and n not in (".", ".."))


def ignore_missing(err: OSError) -> bool:
    return err.errno in (errno.ENOENT, errno.ESRCH)
