"""Orchestration: the verbs (render, build, status), planned purely and acted via host."""
