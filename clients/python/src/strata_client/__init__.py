"""Python client of the Strata control plane: HTTP + Arrow, pandas out."""

from .client import Client, Run, StrataError

__all__ = ["Client", "Run", "StrataError"]
__version__ = "0.1.0"
