"""linux.netDevices (config-linux.md#configLinuxNetworkDevices): move host
interfaces into the container's network namespace, renamed, with their
permanent global addresses, and set them up.

pyroute2 is imported only here, only when a config has netDevices (its
import costs ~250 ms). The move is one RTM_NEWLINK (namespace fd and new
name together, so a '%d' template is expanded by the kernel inside the
container's namespace); addresses and the link state are then set from a
child process that entered that namespace, so pyrunc itself never leaves the
runtime namespace (where the hooks must run).
"""
from __future__ import annotations

import os

from ..errors import ConfigError, PyruncError

IFA_F_PERMANENT = 0x80
RT_SCOPE_UNIVERSE = 0


def _addresses(ipr, index: int) -> list[dict]:
    out = []
    for msg in ipr.get_addr(index=index):
        flags = msg.get("IFA_FLAGS", msg["flags"])
        if flags & IFA_F_PERMANENT and msg["scope"] == RT_SCOPE_UNIVERSE:
            out.append({"family": msg["family"], "address": msg.get("IFA_ADDRESS"),
                        "prefixlen": msg["prefixlen"], "broadcast": msg.get("IFA_BROADCAST")})
    return out


def move(devices: dict[str, str], init_pid: int) -> None:
    """devices: host name -> name inside (the same name when not renamed)."""
    from pyroute2 import IPRoute

    netns = os.open(f"/proc/{init_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    moved: list[tuple[str, str, list[dict]]] = []
    try:
        with IPRoute() as ipr:
            for host_name, name in devices.items():
                found = ipr.link_lookup(ifname=host_name)
                if not found:
                    raise ConfigError(f"linux.netDevices.{host_name}: no such network "
                                      "interface on the host")
                index = found[0]
                link = ipr.get_links(index)[0]
                mac = link.get("IFLA_ADDRESS")
                addrs = _addresses(ipr, index)
                try:
                    ipr.link("set", index=index, net_ns_fd=netns, ifname=name)
                except Exception as err:  # noqa: BLE001 - pyroute2's NetlinkError and kin
                    raise PyruncError(f"linux.netDevices.{host_name}: moving it into the "
                                      f"container as {name!r}: {err}") from None
                moved.append((name, mac, addrs))
        _configure_inside(netns, moved)
    finally:
        os.close(netns)


def _configure_inside(netns: int, moved: list[tuple[str, str, list[dict]]]) -> None:
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            from pyroute2 import IPRoute

            from . import syscalls
            from .namespaces import CLONE_NEWNET

            syscalls.setns(netns, CLONE_NEWNET, "container network namespace")
            with IPRoute() as ipr:
                for name, mac, addrs in moved:
                    index = _find(ipr, name, mac)
                    for a in addrs:
                        kw = {"index": index, "address": a["address"],
                              "prefixlen": a["prefixlen"], "family": a["family"]}
                        if a["broadcast"]:
                            kw["broadcast"] = a["broadcast"]
                        ipr.addr("add", **kw)
                    ipr.link("set", index=index, state="up")
            os._exit(0)
        except BaseException as err:  # noqa: BLE001 - reported through the pipe
            os.write(w, str(err).encode()[:2000])
            os._exit(1)
    os.close(w)
    message = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        message += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise PyruncError(f"linux.netDevices: configuring the moved interfaces: "
                          f"{message.decode(errors='replace') or status}")


def _find(ipr, name: str, mac: str | None) -> int:
    """The moved link inside: by name, or by hardware address for '%d' names."""
    if "%" not in name:
        found = ipr.link_lookup(ifname=name)
        if found:
            return found[0]
    for link in ipr.get_links():
        if mac and link.get("IFLA_ADDRESS") == mac:
            return link["index"]
    raise PyruncError(f"cannot find {name!r} after moving it")
