"""Issue 9, class 3: procfs and /dev cannot be redirected by the image
(CVE-2025-31133, CVE-2025-52565, CVE-2025-52881, CVE-2019-16884,
CVE-2019-19921, CVE-2021-30465, CVE-2024-45310).

Each case builds a hostile rootfs and checks what the host has afterwards:
the host-wide file the attack aims at is unchanged, no file or directory
appeared outside the root, and the container either was refused with a
clear error or got exactly what the config asked for.
"""
from __future__ import annotations

import os
import shutil
import threading

import pytest

from helpers import ConsoleReceiver, assert_nothing_left, files_under, mounts_under

CORE_PATTERN = "/proc/sys/kernel/core_pattern"


def _core_pattern() -> str:
    with open(CORE_PATTERN) as f:
        return f.read()


def _drop_dev_mount(bundle) -> None:
    """Use the image's own /dev (no tmpfs over it)."""
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["destination"] != "/dev"]


def _replace(rootfs: str, rel: str, target: str) -> None:
    """Make rootfs/rel a symlink to target, whatever was there."""
    path = os.path.join(rootfs, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path) if not os.path.isdir(path) or os.path.islink(path) else os.rmdir(path)
    os.symlink(target, path)


@pytest.mark.parametrize("how", ["image-dev", "bind-dev"])
def test_dev_null_symlink_never_unmasks_configLinuxMaskedPaths(request, runtime, hostile, cid,
                                                               tmp_path, how):
    """CVE-2025-31133: /dev/null, the file bound over masked files, is a
    symlink to a host-wide procfs file. The container is refused, or every
    masked file reads as /dev/null; never is core_pattern bound, writable,
    over a masked path."""
    if runtime.name == "runc":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="CVE-2025-31133: runc 1.1.5 binds whatever the image's "
            "/dev/null leads to over the masked paths"))
    before = _core_pattern()
    _drop_dev_mount(hostile)
    if how == "bind-dev":
        dev = tmp_path / "hostdev"
        dev.mkdir()
        os.symlink(CORE_PATTERN, dev / "null")
        hostile.config["mounts"].append({"destination": "/dev", "type": "bind",
                                         "source": str(dev), "options": ["rbind"]})
    else:
        _replace(hostile.rootfs, "dev/null", CORE_PATTERN)
    masked = [p for p in hostile.config["linux"]["maskedPaths"]
              if p in ("/proc/keys", "/proc/timer_list", "/proc/latency_stats")]
    assert masked
    hostile.config["process"]["args"] = ["sh", "-c", "cat " + " ".join(masked) +
                                         " 2>&-; echo END"]
    res = runtime.run_container(hostile, cid, timeout=30)
    if res.returncode == 0:
        assert res.stdout.strip() == "END", res.stdout  # each masked file read empty
    else:
        assert res.stderr.strip(), "refused without a message"
        if runtime.name == "pyrunc":
            assert "/dev/null" in res.stderr, res.stderr
        assert_nothing_left(runtime, cid)
    assert _core_pattern() == before


def test_proc_symlink_refused_configMounts(runtime, hostile, cid):
    """CVE-2019-19921, CVE-2023-27561: an image whose /proc is a symlink does
    not get procfs mounted where the link points (where fake attribute files
    could stand in for /proc/self/attr): refused, with runc's wording."""
    os.rmdir(os.path.join(hostile.rootfs, "proc"))
    os.mkdir(os.path.join(hostile.rootfs, "bad-proc"))
    os.symlink("/bad-proc", os.path.join(hostile.rootfs, "proc"))
    res = runtime.run_container(hostile, cid, timeout=30)
    assert res.returncode != 0
    assert "must be mounted on ordinary directory" in res.stderr, res.stderr
    assert os.listdir(os.path.join(hostile.rootfs, "bad-proc")) == []
    assert_nothing_left(runtime, cid)


@pytest.mark.parametrize("attack", ["console-symlink", "pts-symlink"])
def test_console_cannot_alias_a_procfs_file(runtime, hostile, cid, tmp_path, attack):
    """CVE-2025-52565: the terminal is bound on /dev/console. With /dev/console
    (or /dev/pts) a symlink into /proc, the bind must not give the container
    a writable alias of core_pattern: refused, or /dev/console is the pty."""
    before = _core_pattern()
    _drop_dev_mount(hostile)
    if attack == "console-symlink":
        _replace(hostile.rootfs, "dev/console", CORE_PATTERN)
    else:
        _replace(hostile.rootfs, "dev/pts", "/proc/sys/kernel")
    hostile.config["process"]["terminal"] = True
    hostile.config["process"]["args"] = ["sh", "-c", "echo DEV=$(stat -L -c '%t:%F' "
                                         "/dev/console)"]
    receiver = ConsoleReceiver(str(tmp_path / "console.sock"))
    try:
        res = runtime.run_container(hostile, cid, "--detach", "--console-socket",
                                    str(tmp_path / "console.sock"), timeout=30)
        if res.returncode == 0:
            master = receiver.master()
            out = b""
            while b"\n" not in out.split(b"DEV=", 1)[-1]:
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                out += chunk
            os.close(master)
            # The pty: a character device with a pty slave's major (136+).
            major, kind = out.decode().split("DEV=", 1)[1].split()[0].split(":", 1)
            assert kind.startswith("character"), out
            assert int(major, 16) >= 136, out
        else:
            assert res.stderr.strip()
            assert_nothing_left(runtime, cid)
    finally:
        receiver.close()
    assert _core_pattern() == before


@pytest.fixture
def volume(tmp_path):
    """A host directory the container gets bind-mounted at /vol, with a
    victim file the attack tries to have the runtime write to."""
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "victim").write_text("original\n")
    (vol / "oom_score_adj").write_text("original\n")
    return vol


def _proc_elsewhere(bundle, vol) -> None:
    """No procfs at /proc (the image's directory stays), the real one at
    /realproc, and the volume at /vol."""
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["destination"] != "/proc"]
    bundle.config["mounts"] += [
        {"destination": "/vol", "type": "bind", "source": str(vol), "options": ["rbind", "rw"]},
        {"destination": "/realproc", "type": "proc", "source": "proc"}]


def test_sysctl_is_written_to_procfs_only_configLinuxSysctl(request, runtime, hostile, cid,
                                                           volume):
    """CVE-2025-52881 class: the image's /proc/sys/... (no procfs mounted
    there) is a symlink to a host file: the sysctl goes to the container's
    network namespace, never into that file."""
    if runtime.name == "runc":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="CVE-2025-52881 class: runc 1.1.5 writes sysctls through "
            "the container's /proc path and follows the image's symlink to a host file"))
    _proc_elsewhere(hostile, volume)
    _replace(hostile.rootfs, "proc/sys/net/ipv4/ip_forward", "/vol/victim")
    hostile.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    hostile.config["process"]["args"] = ["cat", "/realproc/sys/net/ipv4/ip_forward"]
    res = runtime.run_container(hostile, cid, timeout=30)
    assert (volume / "victim").read_text() == "original\n"
    _refused_or(runtime, cid, res, "1")


def test_oom_score_adj_is_written_to_procfs_only_configProcess(runtime, hostile, cid, volume):
    """The same for process.oomScoreAdj through an image /proc/self symlink;
    the process gets the value it asked for."""
    _proc_elsewhere(hostile, volume)
    _replace(hostile.rootfs, "proc/self", "/vol")
    hostile.config["process"]["oomScoreAdj"] = 500
    hostile.config["process"]["args"] = ["cat", "/realproc/self/oom_score_adj"]
    res = runtime.run_container(hostile, cid, timeout=30)
    assert (volume / "oom_score_adj").read_text() == "original\n"
    _refused_or(runtime, cid, res, "500")


def _refused_or(runtime, cid, res, want: str) -> None:
    """Refused with a message and nothing left (runc 1.1.5 refuses any
    container whose /proc is not procfs: it lists /proc/self/fd there), or
    the process saw the value the config asked for (pyrunc must manage)."""
    if res.returncode != 0 and runtime.name != "pyrunc":
        assert res.stderr.strip()
        assert_nothing_left(runtime, cid)
        return
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == want


def test_mount_destination_into_proc_through_a_symlink(runtime, hostile, cid, tmp_path):
    """A destination that is lexically outside /proc but reaches it through
    an image symlink is refused like one inside it (runc checks the resolved
    path)."""
    src = tmp_path / "fake"
    src.write_text("fake\n")
    _replace(hostile.rootfs, "data", "/proc/sys/kernel")
    hostile.config["mounts"].append({"destination": "/data/core_pattern", "type": "bind",
                                     "source": str(src), "options": ["bind"]})
    res = runtime.run_container(hostile, cid, timeout=30)
    assert res.returncode != 0
    assert "proc" in res.stderr, res.stderr
    assert_nothing_left(runtime, cid)


def test_swapped_destination_stays_in_the_root(runtime, hostile, cid, tmp_path, runc_bug):
    """CVE-2021-30465, CVE-2024-45310: while containers are created, another
    process swaps a mount destination's directory for a symlink leading out
    of the root (absolute and through ".."). Mounts and the directories made
    for them stay inside the root: the host directory the symlink names never
    gets anything."""
    runc_bug("CVE-2024-45310 (fixed in runc 1.1.14): MkdirAll of a mount destination "
             "follows a directory swapped for a symlink and makes the directory on the host "
             "(a race: lost in some runs, seen in CI)", race=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    swap = os.path.join(hostile.rootfs, "swap")
    outside = [str(victim), "../" * 30 + str(victim).lstrip("/")]
    hostile.config["mounts"].append({"destination": "/swap/made/here", "type": "tmpfs",
                                     "source": "tmpfs", "options": ["nosuid"]})
    hostile.config["process"]["args"] = ["true"]
    stop = threading.Event()

    def racer():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if os.path.islink(swap) or not os.path.lexists(swap):
                    if os.path.lexists(swap):
                        os.unlink(swap)
                    os.mkdir(swap)
                else:
                    shutil.rmtree(swap, ignore_errors=True)
                    os.symlink(outside[i % 2], swap)
            except OSError:
                pass

    thread = threading.Thread(target=racer, daemon=True)
    thread.start()
    try:
        for n in range(30):
            runtime.run_container(hostile, f"{cid}-{n}", timeout=30)
    finally:
        stop.set()
        thread.join()
    assert files_under(str(victim)) == {}
    assert mounts_under(str(victim)) == []


def test_masked_and_readonly_paths_hold_configLinuxMaskedPaths(runtime, bundle, cid):
    """The baseline the attacks above aim at: masked files read empty, masked
    directories are empty, read-only paths refuse writes."""
    cfg = bundle.config
    cfg["process"]["args"] = ["sh", "-c", "cat /proc/keys; ls /sys/firmware; "
                              "echo x > /proc/sys/kernel/domainname && echo WROTE; "
                              "echo END"]
    res = runtime.run_container(bundle, cid, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "END", res.stdout
