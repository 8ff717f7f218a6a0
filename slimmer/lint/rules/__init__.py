"""All rules; importing this package registers them in `slimmer.lint.registry.RULES`."""

from slimmer.lint.registry import RULES
from slimmer.lint.rules import (  # noqa: F401  (each module registers its rules)
    buildcontext,
    caching,
    pinning,
    privilege,
    processes,
    secrets,
    syntax,
)

__all__ = ["RULES"]
