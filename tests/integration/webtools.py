"""Helpers for the warden-web tests: the real warden-web started on a free port in front of a
test's wardend, and a small HTTP client (http.client) that reads Server-Sent Events."""

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import BIN, sanitizer_report, wait_until

WARDEN_WEB = os.path.join(BIN, "warden-web")
STATIC_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "web", "static")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:400]!r}>"


class WardenWeb:
    """One warden-web process; .start() waits for its "serving http://..." line."""

    def __init__(self, root):
        self.root = root
        self.stderr_path = os.path.join(root, "warden-web.stderr")
        self.proc = None
        self.port = None
        self.headers = {}  # sent with every request (e.g. Authorization)
        self._csrf = None

    def start(self, socket_path, *args, listen="127.0.0.1:0", wait=True, user=None):
        cmd = [WARDEN_WEB, "-s", socket_path, "--listen", listen, "--static-dir", STATIC_DIR,
               *args]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *cmd]
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr)
        if wait:
            line = wait_until(lambda: self._serving_line(), timeout=30,
                              what=f"warden-web to serve; its log:\n{self.log()}")
            self.port = int(re.search(r"http://[^ ]*:(\d+)/", line).group(1))
        return self

    def _serving_line(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"warden-web exited {self.proc.returncode}:\n{self.log()}")
        # Whole lines only: the log may be read while the line is being written.
        for line in self.log().splitlines(keepends=True):
            if "serving http://" in line and line.endswith("\n") and re.search(
                    r"http://[^ ]*:(\d+)/", line):
                return line
        return None

    def log(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def connection(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, headers=None, body=None, timeout=60):
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def csrf(self):
        if self._csrf is None:
            r = self.get("/api/v1/csrf")
            assert r.status == 200, r
            self._csrf = r.json()["csrf_token"]
        return self._csrf

    def post(self, path, headers=None, body=None, **kw):
        return self.request("POST", path, headers={"X-CSRF-Token": self.csrf(), **(headers or {})},
                            body=body, **kw)

    def events(self, path, timeout=30):
        """Yields (event, data) of a Server-Sent Events stream; comments are skipped. Stop
        iterating (or .close() the generator) to close the connection."""
        conn = self.connection(timeout)
        try:
            conn.request("GET", path, headers={**self.headers, "Accept": "text/event-stream"})
            r = conn.getresponse()
            assert r.status == 200, (r.status, r.read())
            assert r.getheader("Content-Type").startswith("text/event-stream")
            event, data = "", []
            while True:
                line = r.readline()
                if not line:
                    return
                line = line.decode().rstrip("\r\n")
                if line == "":
                    if data:
                        yield event or "message", "\n".join(data)
                    event, data = "", []
                elif line.startswith(":"):
                    continue
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
        finally:
            conn.close()

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"warden-web did not stop on SIGTERM:\n{self.log()}")
            assert self.proc.returncode == 0, (
                f"warden-web exited {self.proc.returncode} on SIGTERM:\n{self.log()}")
        self.stderr.close()
        report = sanitizer_report(self.log())
        assert report is None, f"warden-web: sanitizer report:\n{report}"
        return self.proc.returncode


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def free_port():
    """A port nothing listens on now (for tests that need to know it before starting)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web(warden):
    """A WardenWeb beside the test's wardend (warden fixture); stopped by pid at the end."""
    w = WardenWeb(warden.root)
    try:
        yield w
    finally:
        w.stop()
