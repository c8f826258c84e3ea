"""Host adapters: files, locks, systemd and podman. The only code with side effects."""
