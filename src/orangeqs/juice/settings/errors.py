"""Configuration errors: one message naming file, key and reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration."""

    file: Path | None
    key: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.reason}"


class ConfigError(Exception):
    """The configuration cannot be used; nothing has been written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(str(self))

    @classmethod
    def single(cls, file: Path | None, key: str, reason: str) -> ConfigError:
        """An error with one problem."""
        return cls([Problem(file, key, reason)])

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return f"invalid configuration: {self.problems[0]}"
        lines = [f"invalid configuration ({len(self.problems)} problems):"]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)
