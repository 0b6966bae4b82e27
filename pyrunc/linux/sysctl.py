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
    for key, value in sysctl.items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(value)
        except OSError as err:
            raise PyruncError(f"linux.sysctl.{key}: writing {path}: {err.strerror}") from None
