"""pyrunc: an OCI runtime (runtime-spec 1.3) in Python, a drop-in for runc."""

__version__ = "0.1.0"
