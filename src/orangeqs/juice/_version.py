"""The single source of truth for the orangeqs-juice-core version (PEP 440)."""

__version__ = "0.1.0"

# The distribution name of this package (environments install it by this name).
CORE_DISTRIBUTION = "orangeqs-juice-core"
