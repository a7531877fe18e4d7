"""The native fan-out reference of `make bench-load`: nginx with Debian's nchan module.

A C server doing only pub/sub fan-out over WebSockets, with no application around it: what one
worker process of a purpose-built fan-out server costs per delivery and per connection, measured in
the same run, on the same machine and with the same clients as the product.

- one nginx master and one worker process (as the product runs one ASGI process), in the foreground
  (`daemon off`), with its own configuration, pid file, logs and temp paths in a temporary
  directory: it needs no root and touches nothing of a system nginx (as root, its worker runs as
  `nobody`, as nginx does by default);
- `POST /pub/<channel>` publishes a message (the generator posts each score frame, the product's
  `score_updated` JSON, to its match's channel `m<id>` and to the tournament's channel `t`);
- `GET /sub/<channel>/` is a WebSocket subscriber of that channel: it receives every message published
  after it connected, one text frame each (`nchan_subscriber_first_message newest`).

nginx and the module come from Debian: `apt-get install -y nginx-light libnginx-mod-nchan`.
`available()` installs them when they are missing and this process runs as root (never starting
the system's nginx service: Debian's policy-rc.d convention holds it back), else says what is
missing.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import os
import re
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.procstat import child_pids

PACKAGES = ("nginx-light", "libnginx-mod-nchan")
MODULE_CANDIDATES = (
    "/usr/lib/nginx/modules/ngx_nchan_module.so",
    "/usr/share/nginx/modules/ngx_nchan_module.so",
    "/usr/lib64/nginx/modules/ngx_nchan_module.so",
)
NGINX_PREFIX = "/usr/share/nginx"  # Debian's --prefix: relative load_module paths are under it
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def nchan_module() -> str | None:
    """The nchan module's .so: Debian's path, or the one a modules-enabled snippet loads."""
    for candidate in MODULE_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    for snippet in sorted(glob.glob("/etc/nginx/modules-enabled/*.conf")):
        try:
            text = Path(snippet).read_text()
        except OSError:
            continue
        for path in re.findall(r"load_module\s+([^;]*nchan[^;]*);", text):
            path = path.strip().strip("\"'")
            resolved = path if path.startswith("/") else os.path.join(NGINX_PREFIX, path)
            if os.path.exists(resolved):
                return os.path.realpath(resolved)
    return None


def _apt_install(packages: tuple[str, ...]) -> tuple[bool, str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Installing nginx would start the system's nginx service (port 80): Debian's policy-rc.d
    # convention ("exit 101": do not start services) holds it back, for the install only.
    added_policy = False
    if not POLICY_RC_D.exists():
        POLICY_RC_D.write_text("#!/bin/sh\n# bench/native.py: no service starts while it installs nginx\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
        added_policy = True
    try:
        command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:  # stale package lists: update once, then try again
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, text=True, timeout=600)
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        return done.returncode == 0, (done.stderr or done.stdout).strip()[-500:]
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    finally:
        if added_policy:
            POLICY_RC_D.unlink(missing_ok=True)


def available(install: bool = True) -> tuple[bool, str]:
    """(usable, what happened): nginx and the nchan module, installed with apt when missing and root."""
    if nginx_binary() and nchan_module():
        return True, f"nginx {nginx_binary()} with {nchan_module()}"
    missing = " and ".join(n for n, ok in (("nginx", nginx_binary()), ("the nchan module", nchan_module())) if not ok)
    if not install:
        return False, f"{missing} missing (not installing)"
    if os.geteuid() != 0:
        return False, f"{missing} missing and not root: install {' '.join(PACKAGES)} (apt-get install -y ...)"
    if not shutil.which("apt-get"):
        return False, f"{missing} missing and no apt-get to install {' '.join(PACKAGES)}"
    print(f"native reference: {missing} missing, installing {' '.join(PACKAGES)} with apt-get ...", flush=True)
    ok, output = _apt_install(PACKAGES)
    if not ok:  # releases without nginx-light (it became a transitional package): the plain nginx
        ok, output = _apt_install(("nginx", "libnginx-mod-nchan"))
    if ok and nginx_binary() and nchan_module():
        return True, f"installed: nginx {nginx_binary()} with {nchan_module()}"
    return False, f"{missing} missing and apt-get could not install {' '.join(PACKAGES)}: {output}"


def nofile_limit() -> int:
    """Open files nginx may ask for: its hard limit (a process may raise its soft limit up to it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 200_000 if hard == resource.RLIM_INFINITY else min(hard, 200_000)


class NchanServer:
    """nginx + nchan on 127.0.0.1:`port`, its files in a temporary directory."""

    def __init__(self, port: int, workers: int = 1) -> None:
        self.port, self.workers = port, workers
        self.dir = Path(tempfile.mkdtemp(prefix="bench-nchan-"))
        self.dir.chmod(0o755)  # as root the worker runs as nobody, and must reach its temp paths
        self.conf = self.dir / "nginx.conf"
        self.error_log = self.dir / "error.log"
        self.process: subprocess.Popen | None = None

    def config(self, temp_paths=("client_body", "proxy", "fastcgi", "uwsgi", "scgi")) -> str:
        nofile = nofile_limit()
        connections = max(1024, nofile - 64)
        user = "user nobody nogroup;" if os.geteuid() == 0 and _user_exists("nobody", "nogroup") else ""
        temp = "\n".join(f"    {name}_temp_path {self.dir / name};" for name in temp_paths)
        return f"""# written by bench/native.py
load_module {nchan_module()};
daemon off;
master_process on;
worker_processes {self.workers};
{user}
pid {self.dir / "nginx.pid"};
error_log {self.error_log} warn;
worker_rlimit_nofile {nofile};
events {{
    worker_connections {connections};
    multi_accept on;
}}
http {{
    access_log off;
{temp}
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_buffer_size 64k;
    server {{
        listen 127.0.0.1:{self.port} backlog=4096;
        location ~ ^/pub/(\\w+)$ {{
            nchan_publisher http;
            nchan_channel_id $1;
            nchan_message_buffer_length 16;
            nchan_message_timeout 120s;
        }}
        location ~ ^/sub/(\\w+)/$ {{
            nchan_subscriber websocket;
            nchan_channel_id $1;
            nchan_subscriber_first_message newest;
        }}
    }}
}}
"""

    def start(self, timeout: float = 30) -> subprocess.Popen:
        nginx = nginx_binary()
        temp_paths = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        args = [nginx, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.error_log)]
        while True:  # a build without one of the temp-path modules refuses its directive: leave it out
            self.conf.write_text(self.config(temp_paths))
            test = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=60)
            unknown = re.search(r'unknown directive "(\w+)_temp_path"', test.stderr)
            if test.returncode == 0 or not unknown or unknown.group(1) not in temp_paths:
                break
            temp_paths.remove(unknown.group(1))
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {test.stderr.strip()}")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited ({self.process.returncode}): {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                if len(self.worker_pids()) >= self.workers:
                    return self.process
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not serve within {timeout}s: {self.log_tail()}")

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid) if self.process else []

    def log_tail(self) -> str:
        try:
            return self.error_log.read_text()[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: fast shutdown, the workers go too
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                for pid in self.worker_pids():
                    with contextlib.suppress(OSError):
                        os.kill(pid, 9)
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _user_exists(user: str, group: str) -> bool:
    import grp
    import pwd

    try:
        pwd.getpwnam(user)
        grp.getgrnam(group)
    except KeyError:
        return False
    return True


class Publisher:
    """POSTs messages to nchan channels over one kept-alive HTTP connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Content-Type": "application/json", "Accept": "text/plain"}

    def publish(self, channel: str, body: bytes) -> None:
        for attempt in (1, 2):
            try:
                self.connection.request("POST", f"/pub/{channel}", body=body, headers=self.headers)
                response = self.connection.getresponse()
                response.read()
                if response.status not in (200, 201, 202):
                    raise RuntimeError(f"nchan publish to {channel}: HTTP {response.status}")
                return
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()  # a closed keep-alive connection: reconnect once
                if attempt == 2:
                    raise

    def close(self) -> None:
        self.connection.close()
