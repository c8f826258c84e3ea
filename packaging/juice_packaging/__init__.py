"""Build pipeline of the orangeqs-juice system package (run by scripts/build-packages)."""
