"""pyrunc: an OCI runtime (runtime-spec 1.3) in Python, a drop-in for runc."""

__version__ = "0.1.0"

# The runtime-spec version pyrunc implements: `--version`'s "spec:", the
# default config's ociVersion, features' ociVersionMax, the state's
# ociVersion. The one place it is written.
OCI_VERSION = "1.3.0"
