"""OrangeQS Juice core: environment management for a Juice host."""

from orangeqs.juice._version import __version__

__all__ = ["__version__"]
