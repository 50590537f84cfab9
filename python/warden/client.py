"""warden.Client: one connection to wardend, and the records wardenctl --json prints."""

import os
import socket as _socket
import struct
import time

from warden import protocol as p
from warden.protocol import ProtocolError

DEFAULT_SOCKET = "/run/warden/warden.sock"


class Error(Exception):
    """wardend answered a request with ERROR. ``code`` is the protocol's number, ``name`` its
    name (``NOT_FOUND``, ``PERMISSION_DENIED``, ...), ``message`` wardend's explanation."""

    def __init__(self, code, message):
        self.code = code
        self.name = p.ERROR_NAMES.get(code, str(code))
        self.message = message
        super().__init__(f"{self.name}: {message}" if message else self.name)


class ConnectionError(OSError):  # noqa: A001 (shadows the builtin inside this module only)
    """wardend could not be reached, or closed the connection."""


def default_socket():
    """The socket wardenctl uses without -s or -c: $WARDEN_SOCKET, else the default path for
    this user (as config.DefaultSocketPath: $RUNTIME_DIRECTORY, root's /run/warden, the user's
    $XDG_RUNTIME_DIR/warden, /tmp/warden-UID)."""
    env = os.environ.get("WARDEN_SOCKET")
    if env:
        return env
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if runtime.startswith("/"):
        return runtime + "/warden.sock"
    if os.geteuid() == 0:
        return DEFAULT_SOCKET
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/"):
        return xdg + "/warden/warden.sock"
    return f"/tmp/warden-{os.geteuid()}/warden.sock"


class _Connection:
    """One socket after HELLO; requests answered by id (docs/protocol.md, section 5)."""

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        # A Unix-socket connect blocks only while the backlog is full; SO_SNDTIMEO bounds it.
        whole, frac = divmod(timeout or 30.0, 1.0)
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDTIMEO,
                        struct.pack("ll", int(whole), int(frac * 1e6)))
        try:
            sock.connect(path)
        except OSError as e:
            sock.close()
            hint = " (is wardend running?)" if isinstance(
                e, (FileNotFoundError, ConnectionRefusedError)) else ""
            raise ConnectionError(e.errno, f"cannot connect to {path}: {e.strerror}{hint}") from e
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDTIMEO, struct.pack("ll", 0, 0))
        sock.settimeout(timeout)
        self.sock = sock
        self.buf = bytearray()
        self.next_id = 1
        self.hello = p.decode_hello_reply(self.call(p.HELLO, p.encode_hello("warden.py")))

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, msg_type, payload):
        request_id = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF or 1
        try:
            self.sock.sendall(p.encode_frame(msg_type, request_id, payload))
        except OSError as e:
            self.close()
            raise ConnectionError(e.errno, f"wardend on {self.path} closed the connection") from e
        return request_id

    def _read(self, n, timeout):
        while len(self.buf) < n:
            self.sock.settimeout(timeout)
            try:
                chunk = self.sock.recv(max(65536, n - len(self.buf)))
            except _socket.timeout:
                raise
            except OSError as e:
                self.close()
                raise ConnectionError(e.errno, f"cannot read from {self.path}: {e}") from e
            if not chunk:
                self.close()
                raise ConnectionError(f"wardend on {self.path} closed the connection")
            self.buf += chunk
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def receive(self, request_id, expected_type, timeout):
        """The payload of the next reply to request_id; ERROR raises Error."""
        while True:
            msg_type, rid, length = p.decode_header(self._read(p.HEADER.size, timeout))
            payload = self._read(length, timeout)
            if msg_type == p.ERROR and rid in (request_id, 0):
                raise Error(*p.decode_error(payload))
            if rid != request_id:
                continue  # a late reply to a request given up on
            if msg_type != expected_type | p.REPLY_BIT:
                raise ProtocolError(f"reply type 0x{msg_type:04X} to request 0x{expected_type:04X}")
            return payload

    def call(self, msg_type, payload=b"", timeout=None):
        request_id = self.send(msg_type, payload)
        return self.receive(request_id, msg_type, timeout if timeout is not None else self.timeout)


# --- records: what wardenctl --json prints (ctl/render.cc) -------------------------------------

_SIGNAL_NAMES = {1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS",
                 8: "FPE", 9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE",
                 14: "ALRM", 15: "TERM", 16: "STKFLT", 17: "CHLD", 18: "CONT", 19: "STOP",
                 20: "TSTP", 21: "TTIN", 22: "TTOU", 23: "URG", 24: "XCPU", 25: "XFSZ",
                 26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO", 30: "PWR", 31: "SYS"}
_SIGNAL_NUMBERS = dict({v: k for k, v in _SIGNAL_NAMES.items()}, IOT=6, POLL=29, CLD=17)
_SIGRTMIN, _SIGRTMAX = 34, 64


def signal_name(number):
    """"SIGTERM" for 15, "SIGRTMIN+2" for 36, as wardenctl prints them."""
    if number in _SIGNAL_NAMES:
        return "SIG" + _SIGNAL_NAMES[number]
    if _SIGRTMIN <= number <= _SIGRTMAX:
        return "SIGRTMIN" if number == _SIGRTMIN else f"SIGRTMIN+{number - _SIGRTMIN}"
    return f"signal {number}"


def signal_number(sig):
    """15, "TERM", "SIGTERM", "term", "RTMIN+1" -> the number; ValueError otherwise."""
    if isinstance(sig, int):
        number = sig
    else:
        text = str(sig).upper()
        if text.isdigit():
            number = int(text)
        else:
            name = text[3:] if text.startswith("SIG") else text
            if name in _SIGNAL_NUMBERS:
                number = _SIGNAL_NUMBERS[name]
            elif name.startswith("RTMIN") and name[5:6] in ("", "+"):
                number = _SIGRTMIN + int(name[6:] or 0)
            elif name.startswith("RTMAX") and name[5:6] in ("", "-"):
                number = _SIGRTMAX - int(name[6:] or 0)
            else:
                raise ValueError(f"unknown signal {sig!r}")
    if not 1 <= number <= _SIGRTMAX:
        raise ValueError(f"signal {sig!r} is out of range (1-{_SIGRTMAX})")
    return number


def _one_decimal(value):
    return f"{value:.1f}"


def _uptime(ms):
    total = ms // 1000
    days, rest = divmod(total, 86400)
    text = f"{rest // 3600}:{rest // 60 % 60:02d}:{rest % 60:02d}"
    if days:
        text = f"{days} day{'' if days == 1 else 's'}, " + text
    return text


def _bytes(n):
    if n < 1024:
        return f"{n}B"
    value, units = n / 1024.0, "KMGTP"
    unit = 0
    while round(value * 10.0) >= 1024.0 * 10.0 and unit + 1 < len(units):
        value /= 1024.0
        unit += 1
    return _one_decimal(value) + units[unit]


def _stop_time(ms):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms // 1000))


def _exit_description(kind, value):
    if kind == 1:
        return f"exit status {value}"
    if kind == 2:
        return "terminated by " + signal_name(value)
    return ""


def _full_name(info):
    return info["name"] if info["group"] == info["name"] else f"{info['group']}:{info['name']}"


def describe(info):
    """The description column of `wardenctl status` for a decoded ProcessInfo."""
    state = info["state"]
    if state in (10, 20, 40) and info["pid"] != 0:
        parts = [f"pid {info['pid']}", f"uptime {_uptime(info['uptime_ms'])}"]
        if info["kernel_state"]:
            cpu = ("0.0" if info["uptime_ms"] == 0
                   else _one_decimal(info["cpu_time_ms"] * 100.0 / info["uptime_ms"]))
            parts += [f"state {chr(info['kernel_state'])}", f"cpu {cpu}%",
                      f"rss {_bytes(info['rss_bytes'])}"]
        if info["children"]:
            zombies = sum(1 for c in info["children"] if c["kernel_state"] == ord("Z"))
            parts.append(f"children {len(info['children'])}"
                         + (f" (Z: {zombies})" if zombies else ""))
        if info["status_text"]:
            parts.append("status: " + info["status_text"])
        return ", ".join(parts)
    if state == 0:
        parts = [info["reason"]]
        if info["stop_time_ms"]:
            parts.append(_stop_time(info["stop_time_ms"]))
        elif info["start_time_ms"] == 0:
            parts.append("Not started")
        return ", ".join(x for x in parts if x)
    if state == 100:
        exit_text = _exit_description(info["exit_kind"], info["exit_value"])
        parts = [info["reason"] if info["reason"] != exit_text else "", exit_text]
        if info["stop_time_ms"]:
            parts.append(_stop_time(info["stop_time_ms"]))
        return ", ".join(x for x in parts if x)
    if state in (200, 30):
        text = info["reason"] or f'unknown error (try "tail {_full_name(info)}")'
        if state == 30 and info["retry_in_ms"] > 0:
            text += f", next try in {_one_decimal(info['retry_in_ms'] / 1000.0)}s"
        return text
    return info["reason"]


def _letter(b):
    return chr(b) if b else None


def status_record(info):
    """One object of `wardenctl status --json` from a decoded ProcessInfo."""
    return {
        "name": _full_name(info),
        "group": info["group"],
        "state": p.state_name(info["state"]),
        "pid": info["pid"] or None,
        "kernel_state": _letter(info["kernel_state"]),
        "uptime_s": info["uptime_ms"] / 1000.0,
        "restarts": info["restarts"],
        "exit_status": info["exit_value"] if info["exit_kind"] == 1 else None,
        "exit_signal": info["exit_value"] if info["exit_kind"] == 2 else None,
        "description": describe(info),
        "start_time": info["start_time_ms"] / 1000.0 if info["start_time_ms"] else None,
        "stop_time": info["stop_time_ms"] / 1000.0 if info["stop_time_ms"] else None,
        "cpu_time_s": info["cpu_time_ms"] / 1000.0,
        "rss_bytes": info["rss_bytes"],
        "children": [{"pid": c["pid"], "kernel_state": _letter(c["kernel_state"])}
                     for c in info["children"]],
        "reason": info["reason"],
        "status_text": info["status_text"] or None,
        "retry_in_s": info["retry_in_ms"] / 1000.0 if info["state"] == 30 else None,
        "health": info["health"] or None,
    }


_DONE_WORDS = {p.START: "started", p.STOP: "stopped", p.RESTART: "restarted",
               p.SIGNAL: "signalled"}


def action_record(msg_type, result):
    """One object of `wardenctl start/stop/restart/signal --json`."""
    ok = result["code"] == 0
    return {"name": result["name"], "ok": ok, "result": _DONE_WORDS[msg_type] if ok else None,
            "error": None if ok else p.ERROR_WORDS.get(result["code"], "unknown error"),
            "message": result["message"]}


def event_record(event):
    """One line of `wardenctl events --json`."""
    return {"time": event["time_ms"] / 1000.0, "process": event["process"],
            "from": p.state_name(event["from"]), "to": p.state_name(event["to"]),
            "pid": event["pid"] or None, "reason": event["reason"]}


def _names(names):
    if len(names) == 1 and isinstance(names[0], (list, tuple)):
        return list(names[0])
    return list(names)


class Client:
    """A connection to wardend. Requests wait for their outcome, as wardenctl's do (a start
    answers once the process is RUNNING or has failed); ``timeout`` (seconds, None: no limit)
    bounds each wait. Streams (tail with follow, events) use a connection of their own, closed
    when the iteration stops.

    Errors: a request wardend refuses as a whole raises Error (NOT_FOUND, PERMISSION_DENIED,
    ...); one that cannot reach wardend raises ConnectionError. Per-process failures of an
    action are records with ``"ok": False``, as in wardenctl --json."""

    def __init__(self, socket=None, timeout=None):  # noqa: A002 (the name wardenctl uses)
        self.socket = socket or default_socket()
        self.timeout = timeout
        self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self):
        if self._conn is None or self._conn.sock is None:
            self._conn = _Connection(self.socket, self.timeout)
        return self._conn

    def _call(self, msg_type, payload=b"", timeout=None):
        return self._connection().call(msg_type, payload, timeout)

    def hello(self):
        """wardend's HELLO reply: {"version", "server", "daemon_pid"}."""
        return dict(self._connection().hello)

    def version(self):
        return p.decode_version_reply(self._call(p.VERSION_MSG))

    def status(self, *names):
        """Every process (or those NAMEs match: "web", "group:*", "all") as wardenctl
        status --json prints them. A name that matches nothing raises Error NOT_FOUND."""
        processes, unknown = p.decode_status_reply(
            self._call(p.STATUS, p.pack_str_list(_names(names))))
        if unknown:
            raise Error(2, ", ".join(unknown) + ": no such process")
        return [status_record(info) for info in processes]

    def _action(self, msg_type, names, signal=0):
        names = _names(names)
        if not names:
            raise ValueError("name at least one process (or \"all\")")
        results = p.decode_action_reply(
            self._call(msg_type, p.encode_action_request(names, signal)))
        return [action_record(msg_type, r) for r in results]

    def start(self, *names):
        return self._action(p.START, names)

    def stop(self, *names):
        return self._action(p.STOP, names)

    def restart(self, *names):
        return self._action(p.RESTART, names)

    def signal(self, sig, *names):
        """sig: a number or a name ("HUP", "SIGUSR1", "RTMIN+2")."""
        return self._action(p.SIGNAL, names, signal_number(sig))

    def pid(self, name=""):
        """The process's pid (None when it is not running); no name: wardend's own."""
        return p.decode_pid_reply(self._call(p.PID, p.pack_str(name))) or None

    def wait(self, name, state, timeout=None):
        """Blocks until every process NAME matches is in STATE ("RUNNING", ...); raises Error
        TIMEOUT after ``timeout`` seconds. Returns the event records."""
        number = p.STATE_NUMBERS[state.upper()] if isinstance(state, str) else int(state)
        timeout_ms = 0 if timeout is None else max(1, int(timeout * 1000))
        events = p.decode_wait_reply(self._call(
            p.WAIT, p.encode_wait_request(_names([name]), number, timeout_ms), timeout=None))
        return [event_record(e) for e in events]

    def tail(self, name, stream="stdout", lines=10, nbytes=None, follow=False):
        """The end of a process's log as bytes (the last ``lines`` lines, or ``nbytes`` bytes).
        With follow=True: an iterator of bytes, the backlog first, then each piece of output
        as the program writes it, until the iteration stops (or the log goes away)."""
        unit_lines = nbytes is None
        count = lines if unit_lines else nbytes
        stream_number = {"stdout": 1, "stderr": 2}[stream]
        payload = p.encode_tail_request(name, stream_number, unit_lines, count, follow)
        if follow:
            return self._tail_follow(payload)
        conn = _Connection(self.socket, self.timeout)
        try:
            request_id = conn.send(p.TAIL, payload)
            data = []
            while True:
                reply = p.decode_tail_reply(conn.receive(request_id, p.TAIL, self.timeout))
                data.append(reply["data"])
                if not reply["more"]:
                    return b"".join(data)
        finally:
            conn.close()

    def _tail_follow(self, payload):
        conn = _Connection(self.socket, self.timeout)
        try:
            request_id = conn.send(p.TAIL, payload)
            while True:
                reply = p.decode_tail_reply(conn.receive(request_id, p.TAIL, None))
                if reply["data"]:
                    yield reply["data"]
                if not reply["more"]:
                    return
        finally:
            conn.close()

    def events(self, *names, current=False):
        """An iterator of state changes as `wardenctl events --json` prints them, for every
        process (or those NAMEs match), as they happen, until the iteration stops. With
        current=True each process's state now comes first (from == to)."""
        conn = _Connection(self.socket, self.timeout)
        try:
            request_id = conn.send(p.EVENTS, p.pack_str_list(_names(names)))
            while True:
                snapshot, events = p.decode_events_reply(conn.receive(request_id, p.EVENTS, None))
                if snapshot and not current:
                    continue
                for e in events:
                    yield event_record(e)
        finally:
            conn.close()
