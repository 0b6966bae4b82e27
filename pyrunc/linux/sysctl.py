"""linux.sysctl (config-linux.md#configLinuxSysctl): only keys that belong to
a namespace the container has of its own; anything else would change the
host. The same rule as runc's."""
from __future__ import annotations

from ..errors import ConfigError, PyruncError

_IPC = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
        "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
_UTS = {"kernel.hostname", "kernel.domainname"}


def namespace_of(key: str) -> str | None:
    """The namespace a sysctl key belongs to, or None for host-wide ones."""
    if key in _IPC or key.startswith("fs.mqueue."):
        return "ipc"
    if key in _UTS:
        return "uts"
    if key.startswith("net."):
        return "network"
    return None


def check(sysctl: dict[str, str], private: set[str]) -> None:
    for key in sysctl:
        if "/" in key or ".." in key.split("."):
            raise ConfigError(f"linux.sysctl.{key}: not a sysctl name")
        ns = namespace_of(key)
        if ns is None:
            raise ConfigError(f"linux.sysctl.{key}: not namespaced: it would change the "
                              "host, so it is not allowed")
        if ns not in private:
            raise ConfigError(f"linux.sysctl.{key}: needs a {ns} namespace of the "
                              "container's own (linux.namespaces)")


def apply(sysctl: dict[str, str]) -> None:
    """Through a private procfs (procfs.ProcHandle), never the container's
    /proc: mounts over /proc/sys placed by the image or a shared volume must
    not turn a namespaced key into a write to a host-wide file. /proc/sys/net
    and the IPC/UTS keys follow the writer's namespaces, which are the
    container's."""
    from .procfs import ProcHandle

    proc = ProcHandle.open()
    try:
        for key, value in sysctl.items():
            sub = "sys/" + key.replace(".", "/")
            try:
                proc.write(sub, value)
            except OSError as err:
                raise PyruncError(f"linux.sysctl.{key}: writing /proc/{sub}: "
                                  f"{err.strerror}") from None
            except PyruncError as err:
                raise PyruncError(f"linux.sysctl.{key}: {err}") from None
    finally:
        proc.close()
