"""Environments: from settings to the text of every generated file (pure functions)."""
