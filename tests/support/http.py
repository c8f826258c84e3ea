"""Serve a directory over HTTP on 127.0.0.1 (package repositories for install tests).

    with serve_directory(repo_dir) as url:   # e.g. "http://127.0.0.1:41234"
        ...

Reachable from chroots and from a BootedHost: both share this machine's network
namespace (nspawn runs without --private-network).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without logging every request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 on a free port for the block; yield the base URL.

    Port 0 lets the kernel pick a free port, so parallel tests never collide.
    """
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory))
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="serve-directory", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
