"""process.rlimits (config.md#configPOSIXProcess)."""
from __future__ import annotations

import resource

from ..errors import ConfigError, PyruncError

# getrlimit(2) resources by name.
NUMBERS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3,
    "RLIMIT_CORE": 4, "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7,
    "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11,
    "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}


def resolve(limits: list[tuple[str, int, int]], where: str) -> list[tuple[int, int, int, str]]:
    """(type, soft, hard) -> (resource number, soft, hard, name); unknown type is an error."""
    out = []
    for i, (name, soft, hard) in enumerate(limits):
        num = NUMBERS.get(name)
        if num is None:
            raise ConfigError(f"{where}[{i}].type: unknown rlimit {name!r} (config.md: "
                              "values that cannot be mapped to a kernel interface are errors)")
        if soft > hard:
            raise ConfigError(f"{where}[{i}]: soft limit {soft} is above the hard limit {hard}")
        out.append((num, soft, hard, name))
    return out


def _kernel(value: int) -> int:
    """A uint64 limit as setrlimit() takes it, a C long long: from 2**63 up,
    the negative number with the same bits (2**64 - 1 is RLIM_INFINITY, -1)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def apply(limits: list[tuple[int, int, int, str]]) -> None:
    for num, soft, hard, name in limits:
        try:
            resource.setrlimit(num, (_kernel(soft), _kernel(hard)))
        except (OSError, ValueError) as err:
            reason = getattr(err, "strerror", None) or str(err)
            raise PyruncError(f"process.rlimits: setting {name} to soft {soft} hard {hard}: "
                              f"{reason}") from None
