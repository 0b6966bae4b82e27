#!/bin/sh
# Everything the test suite needs on a fresh Debian 12 machine, as root:
# system packages, and tox in its own virtualenv at /opt/pyrunc-tox (Debian's
# python3 refuses system-wide pip installs, PEP 668).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# busybox-static: the test rootfs; runc: the reference runtime the tests also
# run against; containerd, docker.io and podman: real callers
# (test_callers.py); gcc, libcap-dev, python3-dev: to build python-prctl.
apt-get install -y -q --no-install-recommends busybox-static runc containerd docker.io podman \
    gcc libc6-dev \
    libcap-dev libseccomp2 python3-dev python3-venv iproute2 procps tmux
if [ ! -x /opt/pyrunc-tox/bin/tox ]; then
    python3 -m venv /opt/pyrunc-tox
    /opt/pyrunc-tox/bin/pip install -q --disable-pip-version-check "tox>=4"
fi
