from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helpers import Bundle, Runtime, build_rootfs, pyrunc_argv, reclaim

IS_ROOT = os.geteuid() == 0


def pytest_addoption(parser):
    parser.addoption(
        "--runtime", action="append", default=[], metavar="PATH",
        help="conformance mode (conformance/run): run only the runtime-spec tests (those "
             "that also run against runc), against this runtime binary instead; repeatable")


def pytest_generate_tests(metafunc):
    if "runtime" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--runtime") or ["pyrunc", "runc"]
        metafunc.parametrize("runtime", chosen, indirect=True,
                             ids=[os.path.basename(c) for c in chosen])


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runtime"):
        kept, dropped = [], []
        for item in items:
            (kept if "runtime" in getattr(item, "fixturenames", ()) else dropped).append(item)
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    if IS_ROOT:
        return
    skip = pytest.mark.skip(reason="integration test: needs root and a real kernel")
    for item in items:
        if {"integration", "security"} & set(item.nodeid.split(os.sep)):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def rootfs():
    if not os.path.exists("/bin/busybox"):
        pytest.fail("busybox-static is not installed (apt-get install busybox-static)")
    top = tempfile.mkdtemp(prefix="pyrunc-rootfs-")
    os.chmod(top, 0o755)  # a container user (or a user namespace) must reach it
    path = build_rootfs(os.path.join(top, "rootfs"))
    yield path
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def bundle(tmp_path, rootfs):
    return Bundle(str(tmp_path / "bundle"), rootfs)


def _make_runtime(name: str, tmp_path) -> Runtime:
    if os.sep in name:  # a binary given to --runtime: named by its file name
        if not os.access(name, os.X_OK):
            pytest.fail(f"--runtime {name}: not an executable file")
        base = os.path.basename(name)
        return Runtime(base, [os.path.abspath(name)], str(tmp_path / f"{base}-root"))
    root = str(tmp_path / f"{name}-root")
    if name == "pyrunc":
        return Runtime("pyrunc", pyrunc_argv(), root)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (apt-get install {name})")
    return Runtime(name, [path], root)


@pytest.fixture
def pyrunc(tmp_path):
    rt = _make_runtime("pyrunc", tmp_path)
    yield rt
    rt.cleanup()


@pytest.fixture
def runtime(request, tmp_path):
    """Runtime-spec behaviour: the same test runs against pyrunc and against
    runc, the reference (or, with --runtime, against any runtime binary:
    conformance/run). A test that only pyrunc passes is a wrong test or a
    runc bug, and then the test says which."""
    rt = _make_runtime(request.param, tmp_path)
    yield rt
    rt.cleanup()


@pytest.fixture
def cid(request):
    """A container id unique to the test (ids share the cgroup namespace)."""
    name = request.node.name
    clean = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[-40:]
    return f"t{os.getpid()}-{clean}"


@pytest.fixture
def runc_bug(request, runtime):
    """runc_bug(reason): the runc parametrization of this test is an expected
    failure (strict: it must fail), because of the runc 1.1.5 bug named.
    runc_bug(reason, race=True): the bug is a race runc loses only sometimes,
    so the case may pass (not strict)."""
    def mark(reason: str, race: bool = False) -> None:
        if runtime.name == "runc":
            request.applymarker(pytest.mark.xfail(strict=not race,
                                                  reason=f"runc 1.1.5 bug: {reason}"))
    return mark


@pytest.fixture
def reclaimed(cid):
    """After the test (and after the runtime fixture's delete --force, when
    used through pytest.mark.usefixtures): take back what a failing runtime
    left of the container on the host (runc 1.1.5 leaks cgroups and
    processes in the crash and race tests), so that one failure does not
    spill into the next test."""
    yield
    reclaim(cid)
