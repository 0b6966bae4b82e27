"""The container's root filesystem: propagation, the configured mounts, the
switch of root (pivot_root or move+chroot), masked and read-only paths.

Runs in the init, inside the new mount namespace. Functions take plain values.
"""
from __future__ import annotations

import errno
import os
import stat

from ..errors import KernelError, PyruncError
from . import mountopts, paths
from . import syscalls as sc

# config-linux.md#configLinuxRootfsMountPropagation, applied recursively as
# runc does; the r-spellings Docker writes mean the same.
ROOT_PROPAGATION = {
    "shared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE | sc.MS_REC,
    "private": sc.MS_PRIVATE | sc.MS_REC,
    "unbindable": sc.MS_UNBINDABLE | sc.MS_REC,
}
ROOT_PROPAGATION.update({"r" + k: v for k, v in list(ROOT_PROPAGATION.items())})

# statvfs f_flag bits -> mount flags that a bind remount must keep: the kernel
# locks them on mounts that came from a more privileged mount namespace.
_LOCKED = ((os.ST_RDONLY, sc.MS_RDONLY), (os.ST_NOSUID, sc.MS_NOSUID),
           (os.ST_NODEV, sc.MS_NODEV), (os.ST_NOEXEC, sc.MS_NOEXEC),
           (os.ST_NOATIME, sc.MS_NOATIME), (os.ST_NODIRATIME, sc.MS_NODIRATIME),
           (os.ST_RELATIME, sc.MS_RELATIME))


def prepare_root(root_path: str, propagation: str) -> None:
    """Make the mount tree private to the container and bind the rootfs onto
    itself, so that it is a mount point pivot_root can use."""
    # Default rslave: host mounts still propagate in, nothing leaks out. An
    # unbindable tree could not be bound onto itself below: it becomes private
    # now and unbindable after the switch of root (set_root_propagation).
    flag = ROOT_PROPAGATION.get(propagation, sc.MS_SLAVE | sc.MS_REC)
    if flag & sc.MS_UNBINDABLE:
        flag = sc.MS_PRIVATE | sc.MS_REC
    sc.mount(None, "/", None, flag)
    _make_parent_private(root_path)
    sc.mount(root_path, root_path, "bind", sc.MS_BIND | sc.MS_REC)


def _make_parent_private(path: str) -> None:
    """pivot_root refuses a new root whose parent mount is shared."""
    best, shared = "", False
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            mnt = fields[4]
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best = mnt
                optional = fields[6:fields.index("-")]
                shared = any(o.startswith("shared:") for o in optional)
    if best and shared:
        sc.mount(None, best, None, sc.MS_PRIVATE)


def open_root(root_path: str) -> int:
    return os.open(root_path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def _locked_flags(target: str) -> int:
    try:
        f_flag = os.statvfs(target).f_flag
    except OSError:
        return 0
    return sum(ms for st, ms in _LOCKED if f_flag & st)


def bind_remount(target: str, flags: int, keep_existing: bool) -> None:
    """Apply per-mount flags to a bind mount. With keep_existing the mount's
    current nosuid/nodev/noexec/atime flags are kept: the kernel refuses to
    clear flags it locked (mounts from a more privileged mount namespace, as in
    a user namespace), and making a path read-only must not weaken it."""
    wanted = flags & mountopts.BIND_REMOUNT_MASK
    if keep_existing:
        wanted |= _locked_flags(target) & ~sc.MS_RDONLY
    try:
        sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | wanted)
    except KernelError as err:
        if err.errno != errno.EPERM or keep_existing:
            raise
        sc.mount(None, target, None,
                 sc.MS_REMOUNT | sc.MS_BIND | wanted | _locked_flags(target))


def mount_entry(rootfd: int, index: int, destination: str, source: str, fstype: str,
                options: list[str], bundle: str, in_userns: bool,
                cgroups: list, cgroupns: bool, mount_label: str = "") -> None:
    """Mount one config.md#configMounts entry, destination resolved in the root."""
    where = f"mounts[{index}]"
    opts = mountopts.parse(options)
    # Lexically cleaned like runc (".." stops at the root); symlinks are
    # resolved inside the root later.
    destination = os.path.normpath("/" + destination.lstrip("/"))
    _check_destination(destination, fstype, where)
    if "idmap" in opts.extensions or "ridmap" in opts.extensions:
        raise PyruncError(f"{where}.options: idmap mounts are not supported by this "
                          "version of pyrunc")
    if fstype == "cgroup" and not opts.bind:
        _mount_cgroup(rootfd, destination, opts, cgroups, cgroupns, in_userns, where)
        return
    if opts.bind:
        _mount_bind(rootfd, destination, source, opts, bundle, in_userns, where)
    else:
        if mount_label:
            from .lsm import mount_context

            context = mount_context(mount_label, fstype)
            if context:
                opts.data.append(context)
        _mount_fs(rootfd, destination, source, fstype, opts, where)
    _finish(rootfd, destination, opts, where)


def _check_destination(dest: str, fstype: str, where: str) -> None:
    parts = [p for p in dest.split("/") if p]
    # Mounting over /proc files other than through a proc mount has been used
    # to escape containers (CVE-2019-16884 family): only proc itself, or the
    # files lxcfs-style tools replace, may be mounted under /proc.
    if parts[:1] == ["proc"] and len(parts) > 1 and fstype != "proc":
        allowed = {"cpuinfo", "diskstats", "meminfo", "stat", "swaps", "uptime",
                   "loadavg", "slabinfo", "net/dev", "sys/kernel/ns_last_pid"}
        if "/".join(parts[1:]) not in allowed:
            raise PyruncError(f"{where}.destination: {dest} is inside /proc, which "
                              "only allows mounts on a few files")


def _mount_bind(rootfd: int, dest: str, source: str, opts: mountopts.MountOptions,
                bundle: str, in_userns: bool, where: str) -> None:
    src = source if source.startswith("/") else os.path.join(bundle, source)
    try:
        st = os.stat(src)
    except OSError as err:
        raise PyruncError(f"{where}.source: bind source {src}: {err.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        fd = paths.mkdir_all(rootfd, dest)
    else:
        fd = paths.make_file(rootfd, dest)
    try:
        sc.mount(src, paths.fd_path(fd), None, sc.MS_BIND | (opts.flags & sc.MS_REC))
    finally:
        os.close(fd)
    extra = opts.flags & ~(sc.MS_BIND | sc.MS_REC | sc.MS_REMOUNT)
    if extra & mountopts.BIND_REMOUNT_MASK:
        fd = paths.open_in_root(rootfd, dest)
        try:
            bind_remount(paths.fd_path(fd), extra, in_userns)
        finally:
            os.close(fd)


def _mount_fs(rootfd: int, dest: str, source: str, fstype: str,
              opts: mountopts.MountOptions, where: str) -> None:
    if not fstype:
        raise PyruncError(f"{where}.type: a mount that is not a bind mount needs a type")
    fd = paths.mkdir_all(rootfd, dest)
    try:
        target = paths.fd_path(fd)
        if "tmpcopyup" in opts.extensions:
            _tmpcopyup(target, source, fstype, opts)
        else:
            try:
                sc.mount(source or fstype, target, fstype, opts.flags, opts.data_string)
            except KernelError as err:
                raise PyruncError(f"{where}: {err}") from None
    finally:
        os.close(fd)


def _tmpcopyup(target: str, source: str, fstype: str, opts: mountopts.MountOptions) -> None:
    """tmpfs whose initial content is what the image had at the destination
    (owners, modes and times kept). The staging mount point lives in our own
    mount namespace, so nothing shows on the host."""
    staging = f"/tmp/.pyrunc-tmpcopyup-{os.getpid()}"
    os.mkdir(staging, 0o700)
    try:
        sc.mount(source or fstype, staging, fstype, opts.flags & ~sc.MS_RDONLY,
                 opts.data_string)
        try:
            _copy_tree(target, staging)
            if opts.flags & sc.MS_RDONLY:
                sc.mount(None, staging, None, sc.MS_REMOUNT | opts.flags, opts.data_string)
            sc.mount(staging, target, None, sc.MS_MOVE)
        except BaseException:
            sc.umount2(staging, sc.MNT_DETACH)
            raise
    finally:
        os.rmdir(staging)


def _copy_tree(src: str, dst: str) -> None:
    """Copy directory contents keeping owner, mode and times; symlinks as links."""
    for entry in os.scandir(src):
        s, d = entry.path, os.path.join(dst, entry.name)
        st = entry.stat(follow_symlinks=False)
        if entry.is_symlink():
            os.symlink(os.readlink(s), d)
        elif entry.is_dir(follow_symlinks=False):
            os.mkdir(d, 0o700)
            _copy_tree(s, d)
        elif entry.is_file(follow_symlinks=False):
            with open(s, "rb") as fi, open(d, "wb") as fo:
                while True:
                    chunk = fi.read(1 << 20)
                    if not chunk:
                        break
                    fo.write(chunk)
        else:
            os.mknod(d, st.st_mode, st.st_rdev)
        os.lchown(d, st.st_uid, st.st_gid)
        if not entry.is_symlink():
            os.chmod(d, stat.S_IMODE(st.st_mode))
        os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    st = os.stat(src)
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, stat.S_IMODE(st.st_mode))


def _finish(rootfd: int, dest: str, opts: mountopts.MountOptions, where: str) -> None:
    """Propagation flags and recursive attributes, on the new mount."""
    if not opts.propagation and not (opts.attr_set or opts.attr_clr):
        return
    fd = paths.open_in_root(rootfd, dest)
    try:
        for flag in opts.propagation:
            sc.mount(None, paths.fd_path(fd), None, flag)
        if opts.attr_set or opts.attr_clr:
            sc.mount_setattr(fd, "", sc.AT_EMPTY_PATH | sc.AT_RECURSIVE, opts.attr_set,
                             opts.attr_clr, what=f"{where} ({dest})")
    finally:
        os.close(fd)


def _mount_cgroup(rootfd: int, dest: str, opts: mountopts.MountOptions,
                  views: list, cgroupns: bool, in_userns: bool,
                  where: str) -> None:
    """A `cgroup` mount shows the container its own cgroups (views are
    cgroups.CgroupView): with a cgroup
    namespace a fresh cgroup mount (rooted at the container's cgroup), without
    one a bind of the container's cgroup directory."""
    flags = opts.flags & ~sc.MS_BIND
    if len(views) == 1 and views[0].version == 2:
        _mount_cgroup_view(rootfd, dest, views[0], flags, cgroupns, in_userns)
        _finish(rootfd, dest, opts, where)
        return
    fd = paths.mkdir_all(rootfd, dest)
    try:
        sc.mount("tmpfs", paths.fd_path(fd), "tmpfs", flags & ~sc.MS_RDONLY, "mode=755")
    finally:
        os.close(fd)
    for view in views:
        sub = f"{dest.rstrip('/')}/{view.name}"
        _mount_cgroup_view(rootfd, sub, view, flags, cgroupns, in_userns)
        for link in view.links:
            pfd, name = paths.parent_and_name(rootfd, f"{dest.rstrip('/')}/{link}")
            try:
                os.symlink(view.name, name, dir_fd=pfd)
            except FileExistsError:
                pass
            finally:
                os.close(pfd)
    if flags & sc.MS_RDONLY:
        fd = paths.open_in_root(rootfd, dest)
        try:
            sc.mount(None, paths.fd_path(fd), None, sc.MS_REMOUNT | flags, "mode=755")
        finally:
            os.close(fd)
    _finish(rootfd, dest, opts, where)


def _mount_cgroup_view(rootfd: int, dest: str, view, flags: int,
                       cgroupns: bool, in_userns: bool) -> None:
    fd = paths.mkdir_all(rootfd, dest)
    try:
        if cgroupns:
            fstype = "cgroup2" if view.version == 2 else "cgroup"
            sc.mount(fstype, paths.fd_path(fd), fstype, flags,
                     view.data if view.version == 1 else None)
            return
        sc.mount(view.host_path, paths.fd_path(fd), None, sc.MS_BIND | sc.MS_REC)
    finally:
        os.close(fd)
    # The fd above is the directory under the new mount: reopen to reach the mount.
    fd = paths.open_in_root(rootfd, dest)
    try:
        bind_remount(paths.fd_path(fd), flags, in_userns)
    finally:
        os.close(fd)


def pivot(root_path: str) -> None:
    """Switch root with pivot_root(".", ".") and detach the old root.
    The old root is made a slave first so the detach does not propagate to
    the host (runc's technique, see pivot_root(2) NOTES)."""
    oldroot = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    newroot = os.open(root_path, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(newroot)
        sc.pivot_root(".", ".")
        os.fchdir(oldroot)
        sc.mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)
        sc.umount2(".", sc.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(oldroot)
        os.close(newroot)


def move_root(root_path: str) -> None:
    """--no-pivot: for a rootfs on ramfs/initramfs, where pivot_root fails.
    Move the rootfs mount over / and chroot into it."""
    os.chdir(root_path)
    sc.mount(root_path, "/", None, sc.MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def chroot_only(root_path: str) -> None:
    """No mount namespace: the host's mounts are not ours to change."""
    os.chroot(root_path)
    os.chdir("/")


def set_root_propagation(propagation: str) -> None:
    if propagation:
        sc.mount(None, "/", None, ROOT_PROPAGATION[propagation])


def readonly_root() -> None:
    bind_remount("/", sc.MS_RDONLY, keep_existing=True)


def mask_path(path: str, label: str = "") -> None:
    """config-linux.md#configLinuxMaskedPaths: directories get an empty
    read-only tmpfs, anything else /dev/null bound over it."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISDIR(st.st_mode):
        data = f"context={label!r}" if label else None
        sc.mount("tmpfs", path, "tmpfs", sc.MS_RDONLY, data)
    else:
        sc.mount("/dev/null", path, None, sc.MS_BIND)


def readonly_path(path: str) -> None:
    """config-linux.md#configLinuxReadonlyPaths: bind the path onto itself read-only."""
    try:
        sc.mount(path, path, None, sc.MS_BIND | sc.MS_REC)
    except KernelError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return
        raise
    bind_remount(path, sc.MS_RDONLY, keep_existing=True)
