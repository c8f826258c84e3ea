"""Settings: the models of ``orchestration.toml`` and their loading."""

from orangeqs.juice._version import CORE_DISTRIBUTION
from orangeqs.juice.settings.errors import ConfigError, Problem
from orangeqs.juice.settings.loading import LoadedSettings, load_settings
from orangeqs.juice.settings.models import (
    OrchestrationSettings,
    UvEnvironment,
    UvSource,
)

__all__ = [
    "CORE_DISTRIBUTION",
    "ConfigError",
    "LoadedSettings",
    "OrchestrationSettings",
    "Problem",
    "UvEnvironment",
    "UvSource",
    "load_settings",
]
