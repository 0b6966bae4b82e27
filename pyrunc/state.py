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


# state.json's fields: (key on disk, attribute, default). The one place for
# the on-disk names and for the defaults a field takes when a state file
# written by an older pyrunc lacks it. A default that is a type (dict) is
# called for a fresh value.
_FIELDS: tuple[tuple[str, str, object], ...] = (
    # The OCI state (runtime.md#state), with runc's rootfs and created.
    ("ociVersion", "oci_version", OCI_VERSION),
    ("id", "id", ""),
    ("pid", "pid", 0),
    ("bundle", "bundle", ""),
    ("rootfs", "rootfs", ""),
    ("created", "created", ""),
    ("annotations", "annotations", dict),
    # The init's start time (proc.start_time), so that a reused pid is not
    # taken for the init.
    ("pid_start", "pid_start", -1),
    # Create is still running, in process creator_pid (started at creator_start).
    ("creating", "creating", False),
    ("creator_pid", "creator_pid", 0),
    ("creator_start", "creator_start", -1),
    # A pid namespace of its own (not one joined by path): only then does the
    # init's death end every other process of the container.
    ("private_pidns", "private_pidns", True),
    # Whether there are poststart/poststop hooks: start and delete load the
    # config only when they run hooks.
    ("poststart", "poststart", False),
    ("poststop", "poststop", False),
    # The config as it was at create (runtime.md#runtimeCreate), with later
    # `update`s merged into linux.resources.
    ("config", "config", dict),
    # CgroupManager.record(): the manager's own format.
    ("cgroup", "cgroup", dict),
    # Without a mount namespace of its own: {"root", "before"}, the mount ids
    # under the rootfs that were there before create (rootfs.unmount_added).
    ("host_mounts", "host_mounts", None),
    # resctrl.Plan.record(), or None without linux.intelRdt.
    ("intel_rdt", "intel_rdt", None),
)


class Record:
    """What state.json holds: the OCI state fields plus everything later
    commands need, since they arrive without create's flags. Named fields
    (_FIELDS); a plain class with __slots__ rather than a dataclass, whose
    import costs more than a whole `state` command."""

    __slots__ = tuple(attr for _key, attr, _default in _FIELDS)

    oci_version: str
    id: str
    pid: int
    bundle: str
    rootfs: str
    created: str
    annotations: dict
    pid_start: int
    creating: bool
    creator_pid: int
    creator_start: int
    private_pidns: bool
    poststart: bool
    poststop: bool
    config: dict
    cgroup: dict
    host_mounts: dict | None
    intel_rdt: dict | None

    def __init__(self, **values: object) -> None:
        for _key, attr, default in _FIELDS:
            value = values.pop(attr, None)
            if value is None:
                value = default() if isinstance(default, type) else default
            setattr(self, attr, value)
        if values:
            raise TypeError(f"Record: unknown fields {sorted(values)}")

    @classmethod
    def from_json(cls, data: dict) -> Record:
        """From state.json; keys an older file lacks take their defaults and
        keys this version does not know are ignored."""
        return cls(**{attr: data.get(key) for key, attr, _default in _FIELDS})

    def to_json(self) -> dict:
        return {key: getattr(self, attr) for key, attr, _default in _FIELDS}

    def oci_state(self, status: str, pid_visible: bool = True) -> dict:
        """The state object of runtime.md (with runc's extra rootfs/created/owner)."""
        out = {
            "ociVersion": self.oci_version,
            "id": self.id,
            "pid": self.pid if (pid_visible and status not in ("stopped",)) else 0,
            "status": status,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
        }
        if self.annotations:
            out["annotations"] = self.annotations
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
        if not isinstance(data, dict):
            raise PyruncError(f"corrupt state file {self.path}/{STATE_FILE}: not an object")
        return Record.from_json(data)

    def save(self, record: Record) -> None:
        """Write state.json atomically: a temp file renamed over the old one."""
        fileio.write_atomic(os.path.join(self.path, STATE_FILE),
                            jsonio.dumps(record.to_json()).encode(), 0o600)

    # --- status -------------------------------------------------------------
    def status(self, record: Record) -> str:
        if record.creating:
            if proc.is_alive(record.creator_pid, record.creator_start):
                return "creating"
            return "stopped"
        if not proc.is_alive(record.pid, record.pid_start):
            return "stopped"
        if _frozen(record):
            return "paused"
        if os.path.exists(self.fifo_path):
            return "created"
        return "running"


def _frozen(record: Record) -> bool:
    if not record.cgroup:
        return False
    from .cgroups import FROZEN, CgroupManager

    return CgroupManager.from_record(record.cgroup).state() == FROZEN


def list_ids(root: str) -> list[str]:
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if os.path.isdir(os.path.join(root, n))
                  and _ID_CHARS.issuperset(n) and n not in (".", ".."))
