"""The one error type the publish pipeline raises: a message and what to do about it."""

from __future__ import annotations


class PublishError(Exception):
    """A refusal or failure, reported as ``error: <message>`` plus an optional hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message
