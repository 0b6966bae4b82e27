"""The Features structure (features.md, features-linux.md): what this
pyrunc recognizes. containerd reads it for `rro` and user namespaces, Docker
shows it in `docker info`; advertised values are implemented ones."""
from __future__ import annotations

from . import OCI_VERSION, bundle
from .linux import capabilities, mountopts, sched, seccomp


def features() -> dict:
    options = sorted(set(mountopts.FLAGS) | set(mountopts.PROPAGATION)
                     | set(mountopts.RECURSIVE) | set(mountopts.RECURSIVE_ATIME)
                     | {"tmpcopyup"})
    try:
        libseccomp = ".".join(map(str, seccomp.version()))
    except Exception:  # noqa: BLE001 - no libseccomp on this host
        libseccomp = ""
    flags = list(seccomp.FLAGS)
    supported = flags if libseccomp else []
    out = {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": list(bundle.HOOK_KINDS),
        "mountOptions": options,
        "linux": {
            "namespaces": sorted(bundle.NAMESPACE_TYPES),
            "capabilities": sorted(capabilities.NUMBERS, key=capabilities.NUMBERS.get),
            "cgroup": {"v1": True, "v2": True, "systemd": True, "systemdUser": False,
                       "rdma": True},
            "seccomp": {"enabled": bool(libseccomp), "actions": sorted(seccomp.ACTIONS),
                        "operators": sorted(seccomp.OPERATORS),
                        "archs": sorted(seccomp.ARCHS), "knownFlags": flags,
                        "supportedFlags": supported},
            "apparmor": {"enabled": True},
            "selinux": {"enabled": True},
            "intelRdt": {"enabled": True, "schemata": True, "monitoring": True},
            "memoryPolicy": {"modes": sorted(sched.MPOL_MODES),
                             "flags": sorted(sched.MPOL_FLAGS)},
            "mountExtensions": {"idmap": {"enabled": False}},
            "netDevices": {"enabled": True},
        },
        "annotations": {"io.github.seccomp.libseccomp.version": libseccomp},
    }
    if not libseccomp:
        del out["annotations"]["io.github.seccomp.libseccomp.version"]
    return out
