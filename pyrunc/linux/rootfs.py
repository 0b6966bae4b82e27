"""The container's root filesystem: propagation, the configured mounts, the
switch of root (pivot_root or move+chroot). What is done after the switch
(masked and read-only paths, /dev/console) is in finalize.py.

Runs in the init, inside the new mount namespace. Functions take plain values.
"""
from __future__ import annotations

import errno
import os
import stat

from ..errors import ConfigError, KernelError, PyruncError
from . import mountinfo, mountopts, paths
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
    try:
        sc.mount(root_path, root_path, "bind", sc.MS_BIND | sc.MS_REC)
    except KernelError as err:
        # EACCES here: in a user namespace, the container's root cannot
        # reach the rootfs through the host's directories.
        raise ConfigError(f"root.path: {err}") from None


def _make_parent_private(path: str) -> None:
    """pivot_root refuses a new root whose parent mount is shared."""
    best, shared = "", False
    for m in mountinfo.read():
        mnt = m.mountpoint
        if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
            best, shared = mnt, m.shared
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


def bind_remount(target: str, flags: int, keep_existing: bool, cleared: int = 0,
                 where: str = "") -> None:
    """Apply per-mount flags to a bind mount: exactly those asked for, the
    others cleared ("mount --bind -o" as users mean it, and runc). With
    keep_existing the mount's current nosuid/nodev/noexec/atime flags are
    kept (making a path read-only must not weaken it). Otherwise flags the
    kernel keeps locked (a mount from a more privileged mount namespace, seen
    from a user namespace) stay, unless `cleared` asks to clear one of them
    explicitly, which is an error naming `where`."""
    wanted = flags & mountopts.BIND_REMOUNT_MASK
    if keep_existing:
        wanted |= _locked_flags(target) & ~sc.MS_RDONLY
    try:
        sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | wanted)
        return
    except KernelError as err:
        if err.errno != errno.EPERM or keep_existing:
            raise
    locked = _locked_flags(target)
    if locked & cleared:
        raise PyruncError(f"{where}.options: cannot clear a flag the source mount has locked "
                          "(a user namespace cannot lift it): operation not permitted")
    sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | wanted | locked)


def mount_entry(rootfd: int, index: int, destination: str, source: str, fstype: str,
                options: list[str], bundle: str, in_userns: bool,
                cgroups: list, cgroupns: bool, mount_label: str = "") -> str | None:
    """Mount one config.md#configMounts entry, destination resolved in the root.
    Returns the destination if it is to be made read-only after the last
    mount (remount_read_only)."""
    where = f"mounts[{index}]"
    opts = mountopts.parse(options)
    # Lexically cleaned like runc (".." stops at the root); symlinks are
    # resolved inside the root later.
    destination = os.path.normpath("/" + destination.lstrip("/"))
    src = source if source.startswith("/") else os.path.join(bundle, source)
    _check_destination(rootfd, destination, fstype, src, opts.bind, where)
    if "idmap" in opts.extensions or "ridmap" in opts.extensions:
        raise PyruncError(f"{where}.options: idmap mounts are not supported by this "
                          "version of pyrunc")
    if fstype == "cgroup" and not opts.bind:
        _mount_cgroup(rootfd, destination, opts, cgroups, cgroupns, in_userns, where)
        return
    if opts.bind:
        _mount_bind(rootfd, destination, source, opts, bundle, where)
    else:
        if mount_label:
            from .lsm import mount_context

            context = mount_context(mount_label, fstype)
            if context:
                opts.data.append(context)
        read_only_later = _read_only_later(destination, fstype, opts)
        _mount_fs(rootfd, destination, source, fstype, opts, where)
        _finish(rootfd, destination, opts, where)
        return destination if read_only_later else None
    _finish(rootfd, destination, opts, where)
    return None


def _read_only_later(dest: str, fstype: str, opts: mountopts.MountOptions) -> bool:
    """A read-only tmpfs, or /dev, is mounted read-write: devices, the
    mount points of later mounts and a tmpfs's mode are made in it first;
    remount_read_only() makes it read-only after the last mount (runc)."""
    if opts.flags & sc.MS_RDONLY and (fstype == "tmpfs" or dest == "/dev"):
        opts.flags &= ~sc.MS_RDONLY
        return True
    return False


def remount_read_only(rootfd: int, dest: str) -> None:
    fd = paths.open_in_root(rootfd, dest)
    try:
        sc.mount_setattr(fd, "", sc.AT_EMPTY_PATH, sc.MOUNT_ATTR_RDONLY, 0,
                         what=f"read-only {dest}")
    finally:
        os.close(fd)


# The /proc files lxcfs-style tools replace: the only mounts allowed under
# /proc (runc's list).
_PROC_FILES = {"cpuinfo", "diskstats", "meminfo", "stat", "swaps", "uptime", "loadavg",
               "slabinfo", "sys/kernel/ns_last_pid", "sys/crypto/fips_enabled"}


def _allowed_in_proc(dest: str) -> bool:
    """/proc itself (checked to get a procfs) or one of _PROC_FILES."""
    parts = [p for p in dest.split("/") if p]
    return parts == ["proc"] or (parts[:1] == ["proc"] and "/".join(parts[1:]) in _PROC_FILES)


def _check_destination(rootfd: int, dest: str, fstype: str, source: str, bind: bool,
                       where: str) -> None:
    parts = [p for p in dest.split("/") if p]
    # Mounts over /proc files have been used to escape containers
    # (CVE-2019-16884 family): /proc itself takes only a procfs, and below it
    # only the few files lxcfs-style tools replace.
    if parts[:1] == ["proc"]:
        if len(parts) > 1:
            if not _allowed_in_proc(dest):
                raise PyruncError(f"{where}.destination: {dest} is inside /proc, which "
                                  "only allows mounts on a few files")
        elif bind:
            _check_proc_source(source, where)
        elif fstype != "proc":
            raise PyruncError(f"{where}: /proc cannot be mounted because it is not of "
                              "type proc")
    # proc and sysfs go exactly where the config says: a symlink (or a file)
    # in the image at that place is refused, not followed (CVE-2019-19921,
    # CVE-2023-27561; runc's wording).
    if fstype in ("proc", "sysfs") and not bind:
        st = paths.exists(rootfd, dest, follow=False)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise PyruncError(f'{where}: filesystem "{fstype}" must be mounted on ordinary '
                              "directory")


def _mount_point(rootfd: int, dest: str, directory: bool, where: str) -> int:
    """O_PATH fd of the mount point (made if missing) inside the root. It
    must not lie inside a procfs unless the destination is one of the
    allowed /proc files: an image symlink (/data -> /proc/sys/kernel) would
    otherwise carry a mount under /proc past the lexical check."""
    fd = paths.mkdir_all(rootfd, dest) if directory else paths.make_file(rootfd, dest)
    if not _allowed_in_proc(dest) and sc.fstatfs_type(fd) == sc.PROC_SUPER_MAGIC:
        os.close(fd)
        raise PyruncError(f"{where}.destination: {dest} resolves to a place inside /proc "
                          "(through a symlink in the image): refused")
    return fd


def _check_proc_source(source: str, where: str) -> None:
    try:
        fd = os.open(source, os.O_PATH | os.O_CLOEXEC)
    except OSError as err:
        raise PyruncError(f"{where}.source: {source}: {err.strerror}") from None
    try:
        if sc.fstatfs_type(fd) != sc.PROC_SUPER_MAGIC:
            raise PyruncError(f"{where}: /proc cannot be mounted because it is not of "
                              "type proc")
    finally:
        os.close(fd)


def _mount_bind(rootfd: int, dest: str, source: str, opts: mountopts.MountOptions,
                bundle: str, where: str) -> None:
    src = source if source.startswith("/") else os.path.join(bundle, source)
    try:
        st = os.stat(src)
    except OSError as err:
        raise PyruncError(f"{where}.source: bind source {src}: {err.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        fd = _mount_point(rootfd, dest, True, where)
    else:
        fd = _mount_point(rootfd, dest, False, where)
    try:
        sc.mount(src, paths.fd_path(fd), None, sc.MS_BIND | (opts.flags & sc.MS_REC))
    finally:
        os.close(fd)
    extra = opts.flags & ~(sc.MS_BIND | sc.MS_REC | sc.MS_REMOUNT)
    if (extra | opts.clear) & mountopts.BIND_REMOUNT_MASK:
        fd = paths.open_in_root(rootfd, dest)
        try:
            bind_remount(paths.fd_path(fd), extra, False, opts.clear, where)
        finally:
            os.close(fd)


def _mount_fs(rootfd: int, dest: str, source: str, fstype: str,
              opts: mountopts.MountOptions, where: str) -> None:
    if not fstype:
        raise PyruncError(f"{where}.type: a mount that is not a bind mount needs a type")
    if fstype == "tmpfs" and not any(d.startswith("mode=") for d in opts.data):
        existing = paths.exists(rootfd, dest)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            # Without mode= the tmpfs keeps the mode of the directory it
            # covers (runc 1.1.8+), not the kernel's 1777.
            opts.data.insert(0, f"mode={stat.S_IMODE(existing.st_mode):04o}")
    fd = _mount_point(rootfd, dest, True, where)
    try:
        target = paths.fd_path(fd)
        if "tmpcopyup" in opts.extensions:
            _tmpcopyup(rootfd, dest, fd, source, fstype, opts)
        else:
            try:
                sc.mount(source or fstype, target, fstype, opts.flags, opts.data_string)
            except KernelError as err:
                raise PyruncError(f"{where}: {err}") from None
    finally:
        os.close(fd)


def _tmpcopyup(rootfd: int, dest: str, lower: int, source: str, fstype: str,
               opts: mountopts.MountOptions) -> None:
    """tmpfs whose initial content is what the image had at the destination
    (owners, modes and times kept). The tmpfs goes straight onto the
    destination; the image's directory stays reachable through the fd
    `lower` (opened before the mount covered it), so no staging directory
    is ever made, on the host or in the image."""
    sc.mount(source or fstype, paths.fd_path(lower), fstype, opts.flags & ~sc.MS_RDONLY,
             opts.data_string)
    src = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=lower)
    try:
        upper = paths.open_in_root(rootfd, dest, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _copy_tree(src, upper)
            if opts.flags & sc.MS_RDONLY:
                sc.mount(None, paths.fd_path(upper), None, sc.MS_REMOUNT | opts.flags,
                         opts.data_string)
        finally:
            os.close(upper)
    finally:
        os.close(src)


def _copy_tree(src: int, dst: int) -> None:
    """Copy a directory's contents (fds of both) keeping owner, mode and
    times, symlinks as links. Everything is opened relative to its parent's
    fd without following symlinks: the copy never leaves the image's tree."""
    nofollow = os.O_NOFOLLOW | os.O_CLOEXEC
    for entry in os.scandir(src):
        name = entry.name
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
        elif stat.S_ISDIR(st.st_mode):
            os.mkdir(name, 0o700, dir_fd=dst)
            sub_src = os.open(name, os.O_RDONLY | os.O_DIRECTORY | nofollow, dir_fd=src)
            sub_dst = os.open(name, os.O_RDONLY | os.O_DIRECTORY | nofollow, dir_fd=dst)
            try:
                _copy_tree(sub_src, sub_dst)
            finally:
                os.close(sub_src)
                os.close(sub_dst)
        elif stat.S_ISREG(st.st_mode):
            fi = os.open(name, os.O_RDONLY | nofollow, dir_fd=src)
            fo = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow, 0o600,
                         dir_fd=dst)
            try:
                while os.sendfile(fo, fi, None, 1 << 24):
                    pass
            finally:
                os.close(fi)
                os.close(fo)
        else:
            os.mknod(name, st.st_mode, st.st_rdev, dir_fd=dst)
        os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=dst)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst, follow_symlinks=False)
    st = os.fstat(src)
    os.fchown(dst, st.st_uid, st.st_gid)
    os.fchmod(dst, stat.S_IMODE(st.st_mode))


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
    Move the rootfs mount over / and chroot into it. The host's old mounts
    stay in the namespace, out of sight: a full procfs or sysfs among them
    would let the container mount a fresh, unmasked one (the kernel allows
    that where a full one is mounted), so those are detached first, or
    covered where they cannot be (as runc does)."""
    _hide_full_proc_and_sys(root_path)
    os.chdir(root_path)
    sc.mount(root_path, "/", None, sc.MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def _hide_full_proc_and_sys(root_path: str) -> None:
    inside = root_path.rstrip("/") + "/"
    for m in mountinfo.read():
        if (m.root != "/" or m.fstype not in ("proc", "sysfs")
                or m.mountpoint == root_path or m.mountpoint.startswith(inside)):
            continue
        try:
            # Whatever the root propagation, the unmount must not reach the host.
            sc.mount(None, m.mountpoint, None, sc.MS_SLAVE | sc.MS_REC)
        except KernelError as err:
            if err.errno == errno.ENOENT:  # under one detached already
                continue
            raise
        try:
            sc.umount2(m.mountpoint, sc.MNT_DETACH)
        except KernelError as err:
            if err.errno not in (errno.EINVAL, errno.EPERM):
                raise
            sc.mount("tmpfs", m.mountpoint, "tmpfs", 0)


def unmount_added(root: str, before: set[int]) -> None:
    """Detach every mount below root that was not there before (by mount ID),
    deepest first. Each is opened without following a last symlink and
    unmounted through that fd, and only if the fd is on the very mount seen
    in mountinfo: a path swapped in the meantime reaches nothing else."""
    for m in mountinfo.under(mountinfo.read(), root):
        if m.id in before:
            continue
        try:
            fd = os.open(m.mountpoint, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if fd_mount_id(fd) == m.id:
                sc.umount2(paths.fd_path(fd), sc.MNT_DETACH)
        except (OSError, KernelError):
            pass  # gone meanwhile
        finally:
            os.close(fd)


def fd_mount_id(fd: int) -> int:
    with open(f"/proc/self/fdinfo/{fd}") as f:
        for line in f:
            if line.startswith("mnt_id:"):
                return int(line.split()[1])
    return -1


def chroot_only(root_path: str) -> None:
    """No mount namespace: the host's mounts are not ours to change."""
    os.chroot(root_path)
    os.chdir("/")


def set_root_propagation(propagation: str) -> None:
    if propagation:
        sc.mount(None, "/", None, ROOT_PROPAGATION[propagation])


def readonly_root() -> None:
    bind_remount("/", sc.MS_RDONLY, keep_existing=True)
