"""Signal names and dispositions.

Uses the C module _signal: `import signal` builds IntEnum classes at import
time (~10 ms here), paid by every command otherwise.
"""
from __future__ import annotations

import _signal

from ..errors import PyruncError

NAMES = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
    "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
    "TERM": 15, "STKFLT": 16, "CHLD": 17, "CLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
    "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27,
    "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31, "UNUSED": 31,
}
SIGRTMIN = 34
SIGRTMAX = 64
NSIG = 65


def parse(text: str) -> int:
    """A signal as a number, a name, or a SIG-prefixed name (runc kill's rules),
    RTMIN+n / RTMAX-n included. 0 is kill(2)'s probe: it checks that the
    process exists and sends nothing (runc's tests use it)."""
    if text.isdigit():
        num = int(text)
        if 0 <= num < NSIG:
            return num
        raise PyruncError(f"invalid signal: {text}")
    name = text.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name in NAMES:
        return NAMES[name]
    for base, value, op in (("RTMIN", SIGRTMIN, "+"), ("RTMAX", SIGRTMAX, "-")):
        if name == base:
            return value
        offset = name[len(base) + 1:]
        if name.startswith(base + op) and offset.isdigit():
            num = value + int(offset) if op == "+" else value - int(offset)
            if SIGRTMIN <= num <= SIGRTMAX:
                return num
    raise PyruncError(f"unknown signal {text!r}")


def reset_all() -> None:
    """Restore every signal to SIG_DFL and unblock all: ignored dispositions
    (Python ignores SIGPIPE and SIGXFSZ) and the mask survive execve."""
    for num in range(1, NSIG):
        if num in (9, 19, 32, 33):  # KILL, STOP, and glibc's internal RT signals
            continue
        try:
            _signal.signal(num, _signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    _signal.pthread_sigmask(_signal.SIG_SETMASK, [])


def install(handler, nums) -> None:
    for num in nums:
        _signal.signal(num, handler)


FORWARDED = tuple(n for n in range(1, NSIG) if n not in (9, 17, 19, 32, 33))

# Asynchronous signals whose default action ends the process (signal(7)).
TERMINATING = (1, 2, 3, 10, 12, 13, 14, 15, 24, 25, 26, 27, 29, 30) + tuple(
    range(SIGRTMIN, SIGRTMAX + 1))
