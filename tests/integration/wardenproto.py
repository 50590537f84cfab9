"""A small client for wardend's control protocol, written from docs/protocol.md.

It uses nothing but ``struct`` and ``socket`` (plus typing/dataclasses), so the integration
tests that use it check the document, not the C++ code that implements it.

    with wardenproto.connect("/run/warden/warden.sock") as c:
        c.hello()
        processes, unknown = c.status(["web"])
        results = c.start(["web"])

Frame-level helpers (``send_frame``, ``send_raw``, ``recv_frame``) let tests send garbage and
look at exactly what comes back; ``recv_message`` puts a reply over 1 MiB back together from
its PART frames. Strings are checked to be UTF-8 as they are read (a ProtocolError if not).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

# --- section 2: frame header -----------------------------------------------------------------

MAGIC = b"WRDN"
VERSION = 1
HEADER = struct.Struct(">4sHHII")  # magic, version, type, request id, payload length
HEADER_SIZE = HEADER.size
MAX_PAYLOAD = 1 << 20
assert HEADER_SIZE == 16

# --- section 3: message types ----------------------------------------------------------------

HELLO = 0x0001
STATUS = 0x0002
START = 0x0003
STOP = 0x0004
RESTART = 0x0005
SIGNAL = 0x0006
PID = 0x0007
VERSION_MSG = 0x0008
SHUTDOWN = 0x0009
TAIL = 0x0010
LOGROTATE = 0x0011
CLEAR = 0x0012
EVENTS = 0x0020
WAIT = 0x0021
REREAD = 0x0030
UPDATE = 0x0031
RELOAD = 0x0032
REEXEC = 0x0040
PART = 0x7FFE
ERROR = 0x7FFF
REPLY_BIT = 0x8000

# --- section 4: error codes ------------------------------------------------------------------

ERROR_NAMES = {
    0: "OK",
    1: "INVALID_ARGUMENT",
    2: "NOT_FOUND",
    3: "ALREADY_STARTED",
    4: "NOT_RUNNING",
    5: "SPAWN_ERROR",
    6: "ABNORMAL_TERMINATION",
    7: "PROTOCOL",
    8: "UNKNOWN_MESSAGE",
    9: "TOO_LARGE",
    10: "BUSY",
    11: "SHUTTING_DOWN",
    12: "PERMISSION_DENIED",
    13: "IO",
    14: "CONFIG",
    15: "TIMEOUT",
    16: "INTERNAL",
}
OK = 0
INVALID_ARGUMENT = 1
NOT_FOUND = 2
ALREADY_STARTED = 3
NOT_RUNNING = 4
SPAWN_ERROR = 5
ABNORMAL_TERMINATION = 6
PROTOCOL = 7
UNKNOWN_MESSAGE = 8
TOO_LARGE = 9
BUSY = 10
SHUTTING_DOWN = 11
PERMISSION_DENIED = 12
IO = 13
CONFIG = 14
TIMEOUT = 15
INTERNAL = 16

# --- section 6: states and exit kinds --------------------------------------------------------

STATE_NAMES = {
    0: "STOPPED",
    10: "STARTING",
    20: "RUNNING",
    30: "BACKOFF",
    40: "STOPPING",
    100: "EXITED",
    200: "FATAL",
    1000: "UNKNOWN",
}
EXIT_KIND_NAMES = {0: "none", 1: "exited", 2: "signaled"}


class ProtocolError(Exception):
    """The peer sent bytes that do not follow docs/protocol.md."""


class WardenError(Exception):
    """The daemon answered a request with ERROR (type 0x7FFF)."""

    def __init__(self, code: int, message: str, request_id: int = 0):
        super().__init__(f"{ERROR_NAMES.get(code, code)}: {message}")
        self.code = code
        self.code_name = ERROR_NAMES.get(code, str(code))
        self.message = message
        self.request_id = request_id


@dataclass
class Frame:
    version: int
    type: int
    request_id: int
    payload: bytes


# --- section 1: primitive types ----------------------------------------------------------------


def pack_str(s: str | bytes) -> bytes:
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack(">I", len(b)) + b


def pack_str_list(items: Sequence[str]) -> bytes:
    return struct.pack(">I", len(items)) + b"".join(pack_str(s) for s in items)


def pack_record(fields: bytes) -> bytes:
    return struct.pack(">I", len(fields)) + fields


class Reader:
    """Reads fields in order from a payload; raises ProtocolError when bytes run out."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n > self.remaining():
            raise ProtocolError(f"need {n} bytes at offset {self.pos}, have {self.remaining()}")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt: str) -> int:
        (v,) = struct.unpack(fmt, self.take(struct.calcsize(fmt)))
        return v

    def u8(self) -> int:
        return self.unpack(">B")

    def u16(self) -> int:
        return self.unpack(">H")

    def u32(self) -> int:
        return self.unpack(">I")

    def u64(self) -> int:
        return self.unpack(">Q")

    def i32(self) -> int:
        return self.unpack(">i")

    def i64(self) -> int:
        return self.unpack(">q")

    def string(self) -> str:
        """A `str`: its bytes must be UTF-8 (section 1)."""
        n = self.u32()
        b = self.take(n)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"a str at offset {self.pos - n} is not UTF-8: {b!r}") from e

    def raw(self) -> bytes:
        """A `bytes` field: any byte values."""
        return self.take(self.u32())

    def count(self, min_element_size: int) -> int:
        n = self.u32()
        if n * min_element_size > self.remaining():
            raise ProtocolError(f"count {n} cannot fit in {self.remaining()} bytes")
        return n

    def str_list(self) -> List[str]:
        return [self.string() for _ in range(self.count(4))]

    def record(self) -> "Reader":
        """The next record's fields; bytes a newer peer appended to it are skipped."""
        return Reader(self.take(self.u32()))


# --- section 2: frames -----------------------------------------------------------------------


def encode_frame(msg_type: int, request_id: int, payload: bytes = b"",
                 *, magic: bytes = MAGIC, version: int = VERSION,
                 length: Optional[int] = None) -> bytes:
    """Header + payload. magic/version/length can be overridden to build broken frames."""
    n = len(payload) if length is None else length
    return HEADER.pack(magic, version, msg_type, request_id, n) + payload


def decode_header(header: bytes) -> Tuple[int, int, int, int]:
    """(version, type, request_id, payload_length) from 16 header bytes, checked."""
    magic, version, msg_type, request_id, length = HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {magic!r}")
    if version != VERSION:
        raise ProtocolError(f"unsupported protocol version {version}")
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"payload length {length} over {MAX_PAYLOAD}")
    return version, msg_type, request_id, length


def decode_frames(data: bytes) -> Tuple[List[Frame], bytes]:
    """Complete frames in data, and the bytes left over (an incomplete frame)."""
    frames = []
    while len(data) >= HEADER_SIZE:
        version, msg_type, request_id, length = decode_header(data[:HEADER_SIZE])
        if len(data) < HEADER_SIZE + length:
            break
        frames.append(Frame(version, msg_type, request_id, data[HEADER_SIZE:HEADER_SIZE + length]))
        data = data[HEADER_SIZE + length:]
    return frames, data


# --- section 6: payloads ---------------------------------------------------------------------


def encode_hello(min_version: int = 1, max_version: int = 1,
                 client: str = "wardenproto.py") -> bytes:
    return struct.pack(">HH", min_version, max_version) + pack_str(client)


def decode_hello(payload: bytes) -> Dict:
    r = Reader(payload)
    return {"min_version": r.u16(), "max_version": r.u16(), "client": r.string()}


def encode_hello_reply(version: int, server: str, daemon_pid: int) -> bytes:
    return struct.pack(">H", version) + pack_str(server) + struct.pack(">I", daemon_pid)


def decode_hello_reply(payload: bytes) -> Dict:
    r = Reader(payload)
    return {"version": r.u16(), "server": r.string(), "daemon_pid": r.u32()}


def encode_error(code: int, message: str) -> bytes:
    return struct.pack(">H", code) + pack_str(message)


def decode_error(payload: bytes) -> Tuple[int, str]:
    r = Reader(payload)
    return r.u16(), r.string()


def encode_status_request(names: Sequence[str] = ()) -> bytes:
    return pack_str_list(names)


def decode_status_request(payload: bytes) -> List[str]:
    return Reader(payload).str_list()


PROCESS_INFO_MIN = 76  # record length + fixed fields + four empty str/list headers
CHILD_MIN = 9
ACTION_RESULT_MIN = 14


def encode_process_info(p: Dict) -> bytes:
    """A ProcessInfo record from a dict shaped like decode_process_info's result."""
    state = p["state_code"] if "state_code" in p else _state_number(p["state"])
    exit_kind = p["exit_kind"]
    if isinstance(exit_kind, str):
        exit_kind = {v: k for k, v in EXIT_KIND_NAMES.items()}[exit_kind]
    fields = (
        pack_str(p["name"])
        + pack_str(p["group"])
        + struct.pack(">HiBqqQIBi", state, p["pid"], _letter_byte(p["kernel_state"]),
                      p["start_time_ms"], p["stop_time_ms"], p["uptime_ms"], p["restarts"],
                      exit_kind, p["exit_value"])
        + pack_str(p["reason"])
        + struct.pack(">QQ", p["cpu_time_ms"], p["rss_bytes"])
        + struct.pack(">I", len(p["children"]))
        + b"".join(pack_record(struct.pack(">iB", c["pid"], _letter_byte(c["kernel_state"])))
                   for c in p["children"])
        + pack_str(p.get("status_text", ""))
        + struct.pack(">Q", p.get("retry_in_ms", 0))
        + pack_str(p.get("health", ""))
    )
    return pack_record(fields)


def decode_process_info(r: Reader) -> Dict:
    """One ProcessInfo from a record reader. kernel_state is a letter or None."""
    p: Dict = {"name": r.string(), "group": r.string()}
    state = r.u16()
    p["state_code"] = state
    p["state"] = STATE_NAMES.get(state, "UNKNOWN")
    p["pid"] = r.i32()
    p["kernel_state"] = _letter(r.u8())
    p["start_time_ms"] = r.i64()
    p["stop_time_ms"] = r.i64()
    p["uptime_ms"] = r.u64()
    p["restarts"] = r.u32()
    exit_kind = r.u8()
    p["exit_kind_code"] = exit_kind
    p["exit_kind"] = EXIT_KIND_NAMES.get(exit_kind, str(exit_kind))
    p["exit_value"] = r.i32()
    p["reason"] = r.string()
    p["cpu_time_ms"] = r.u64()
    p["rss_bytes"] = r.u64()
    children = []
    for _ in range(r.count(CHILD_MIN)):
        c = r.record()
        children.append({"pid": c.i32(), "kernel_state": _letter(c.u8())})
    p["children"] = children
    # Appended fields: each may be where the record ends (an older daemon); then 0 / empty.
    p["status_text"] = r.string() if r.remaining() else ""
    p["retry_in_ms"] = r.u64() if r.remaining() else 0
    p["health"] = r.string() if r.remaining() else ""
    p["full_name"] = p["name"] if p["group"] == p["name"] else f"{p['group']}:{p['name']}"
    return p


def encode_status_reply(processes: Sequence[Dict], unknown_names: Sequence[str] = ()) -> bytes:
    return (struct.pack(">I", len(processes))
            + b"".join(encode_process_info(p) for p in processes)
            + pack_str_list(unknown_names))


def decode_status_reply(payload: bytes) -> Tuple[List[Dict], List[str]]:
    r = Reader(payload)
    processes = [decode_process_info(r.record()) for _ in range(r.count(PROCESS_INFO_MIN))]
    return processes, r.str_list()


def encode_action_request(names: Sequence[str], signal: int = 0) -> bytes:
    return pack_str_list(names) + struct.pack(">i", signal)


def decode_action_request(payload: bytes) -> Tuple[List[str], int]:
    r = Reader(payload)
    return r.str_list(), r.i32()


def encode_action_reply(results: Sequence[Dict]) -> bytes:
    return struct.pack(">I", len(results)) + b"".join(
        pack_record(pack_str(a["name"]) + struct.pack(">H", a["code"]) + pack_str(a["message"]))
        for a in results)


def decode_action_reply(payload: bytes) -> List[Dict]:
    r = Reader(payload)
    results = []
    for _ in range(r.count(ACTION_RESULT_MIN)):
        rec = r.record()
        name, code, message = rec.string(), rec.u16(), rec.string()
        results.append({"name": name, "code": code,
                        "code_name": ERROR_NAMES.get(code, str(code)), "message": message})
    return results


def encode_pid_request(name: str = "") -> bytes:
    return pack_str(name)


def decode_pid_request(payload: bytes) -> str:
    return Reader(payload).string()


def encode_pid_reply(pid: int) -> bytes:
    return struct.pack(">i", pid)


def decode_pid_reply(payload: bytes) -> int:
    return Reader(payload).i32()


def encode_version_reply(version: str) -> bytes:
    return pack_str(version)


def decode_version_reply(payload: bytes) -> str:
    return Reader(payload).string()


# --- section 6: logs (TAIL, LOGROTATE, CLEAR) ---------------------------------------------------

STDOUT = 1
STDERR = 2
UNIT_BYTES = 0
UNIT_LINES = 1
MAX_TAIL_CHUNK = 512 * 1024


def encode_tail_request(name: str = "", stream: int = STDOUT, unit: int = UNIT_LINES,
                        count: int = 10, follow: bool = False) -> bytes:
    return pack_str(name) + struct.pack(">BBQB", stream, unit, count, 1 if follow else 0)


def decode_tail_request(payload: bytes) -> Dict:
    r = Reader(payload)
    return {"name": r.string(), "stream": r.u8(), "unit": r.u8(), "count": r.u64(),
            "follow": bool(r.u8())}


def encode_tail_reply(more: bool, path: str, data: bytes) -> bytes:
    return struct.pack(">B", 1 if more else 0) + pack_str(path) + pack_str(data)


def decode_tail_reply(payload: bytes) -> Dict:
    """{"more": bool, "path": str, "data": bytes} (data is raw bytes, not text)."""
    r = Reader(payload)
    more = bool(r.u8())
    path = r.string()
    data = r.raw()
    return {"more": more, "path": path, "data": data}


def encode_log_names_request(names: Sequence[str] = ()) -> bytes:
    return pack_str_list(names)


# --- section 6: events (EVENTS, WAIT) ---------------------------------------------------------

STATE_EVENT_MIN = 28  # record length u32 + time i64 + process str + from/to u16 + pid i32 + reason


def encode_state_event(e: Dict) -> bytes:
    """A StateEvent record from {"time_ms", "process", "from", "to", "pid", "reason"} (states
    as names or numbers)."""
    def number(s):
        return s if isinstance(s, int) else _state_number(s)
    return pack_record(struct.pack(">q", e["time_ms"]) + pack_str(e["process"])
                       + struct.pack(">HHi", number(e["from"]), number(e["to"]), e["pid"])
                       + pack_str(e["reason"]))


def decode_state_event(r: Reader) -> Dict:
    e: Dict = {"time_ms": r.i64(), "process": r.string()}
    e["from_code"], e["to_code"] = r.u16(), r.u16()
    e["from"] = STATE_NAMES.get(e["from_code"], "UNKNOWN")
    e["to"] = STATE_NAMES.get(e["to_code"], "UNKNOWN")
    e["pid"] = r.i32()
    e["reason"] = r.string()
    return e


def encode_events_request(names: Sequence[str] = ()) -> bytes:
    return pack_str_list(names)


def encode_events_reply(snapshot: bool, events: Sequence[Dict]) -> bytes:
    return (struct.pack(">BI", 1 if snapshot else 0, len(events))
            + b"".join(encode_state_event(e) for e in events))


def decode_events_reply(payload: bytes) -> Dict:
    """{"snapshot": bool, "events": [StateEvent dicts]}."""
    r = Reader(payload)
    snapshot = bool(r.u8())
    events = [decode_state_event(r.record()) for _ in range(r.count(STATE_EVENT_MIN))]
    return {"snapshot": snapshot, "events": events}


def encode_wait_request(names: Sequence[str], state: str | int, timeout_ms: int = 0) -> bytes:
    number = state if isinstance(state, int) else _state_number(state)
    return pack_str_list(names) + struct.pack(">HI", number, timeout_ms)


def decode_wait_reply(payload: bytes) -> List[Dict]:
    r = Reader(payload)
    return [decode_state_event(r.record()) for _ in range(r.count(STATE_EVENT_MIN))]


# --- section 6: configuration (REREAD, UPDATE, RELOAD) -------------------------------------------

CONFIG_CHANGE_MIN = 14  # record length u32 + name str + kind u8 + restart u8 + keys count u32
CHANGE_KINDS = {1: "added", 2: "removed", 3: "changed"}
APPLY_NAMES = {0: "live", 1: "restart", 2: "next start"}


def decode_reread_reply(payload: bytes) -> List[Dict]:
    """[{"name", "kind", "apply", "keys"}]: kind added/removed/changed, apply as APPLY_NAMES."""
    r = Reader(payload)
    changes = []
    for _ in range(r.count(CONFIG_CHANGE_MIN)):
        rec = r.record()
        name, kind, apply = rec.string(), rec.u8(), rec.u8()
        changes.append({"name": name, "kind": CHANGE_KINDS.get(kind, str(kind)),
                        "apply": APPLY_NAMES.get(apply, str(apply)), "keys": rec.str_list()})
    return changes


def _letter(b: int) -> Optional[str]:
    return chr(b) if b else None


def _letter_byte(s: Optional[str]) -> int:
    return ord(s) if s else 0


def _state_number(name: str) -> int:
    return {v: k for k, v in STATE_NAMES.items()}[name]


# --- section 5: a connection -----------------------------------------------------------------


class Connection:
    """One control connection. Methods raise WardenError on an ERROR reply."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.next_id = 1
        self._buf = b""
        self._pending: List[Frame] = []  # frames read while waiting for another request id

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    # -- frames --

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_frame(self, msg_type: int, request_id: int, payload: bytes = b"") -> None:
        self.sock.sendall(encode_frame(msg_type, request_id, payload))

    def recv_frame(self, timeout: Optional[float] = None) -> Frame:
        """The next frame from the daemon; raises EOFError if it closes the connection first."""
        if self._pending:
            return self._pending.pop(0)
        old_timeout = self.sock.gettimeout()
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            while True:
                frames, self._buf = decode_frames(self._buf)
                if frames:
                    self._pending.extend(frames[1:])
                    return frames[0]
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("connection closed by the daemon"
                                   + (f" with {len(self._buf)} bytes of a partial frame"
                                      if self._buf else ""))
                self._buf += chunk
        finally:
            self.sock.settimeout(old_timeout)

    def recv_message(self, timeout: Optional[float] = None) -> Frame:
        """The next reply, with a reply over 1 MiB put back together (section 5, "Replies over
        1 MiB"): PART frames, then the reply frame with the rest, nothing between them."""
        f = self.recv_frame(timeout)
        if f.type != PART:
            return f
        pieces = [f.payload]
        while True:
            g = self.recv_frame(timeout)
            if g.request_id != f.request_id:
                raise ProtocolError(f"a frame for request {g.request_id} inside the parts of "
                                    f"request {f.request_id}'s reply")
            pieces.append(g.payload)
            if g.type != PART:
                return Frame(g.version, g.type, g.request_id, b"".join(pieces))

    def is_closed_by_peer(self, timeout: float = 5.0) -> bool:
        """True when the daemon closes the connection (after any frames it still sends)."""
        try:
            while True:
                self.recv_frame(timeout)
        except EOFError:
            return True
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True

    # -- requests --

    def request(self, msg_type: int, payload: bytes = b"") -> bytes:
        """Sends a request and returns its reply's payload (matched by request id)."""
        request_id = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF or 1
        self.send_frame(msg_type, request_id, payload)
        others = []
        try:
            while True:
                f = self.recv_message()
                if f.request_id != request_id:
                    if f.type == ERROR and f.request_id == 0:
                        code, message = decode_error(f.payload)
                        raise WardenError(code, message, 0)
                    others.append(f)  # a reply to another outstanding request
                    continue
                if f.type == ERROR:
                    code, message = decode_error(f.payload)
                    raise WardenError(code, message, request_id)
                if f.type != msg_type | REPLY_BIT:
                    raise ProtocolError(
                        f"reply type 0x{f.type:04X} to request type 0x{msg_type:04X}")
                return f.payload
        finally:
            self._pending[:0] = others

    def hello(self, min_version: int = 1, max_version: int = 1,
              client: str = "wardenproto.py") -> Dict:
        return decode_hello_reply(self.request(HELLO, encode_hello(min_version, max_version,
                                                                   client)))

    def status(self, names: Sequence[str] = ()) -> Tuple[List[Dict], List[str]]:
        """(processes, unknown names); each process is a dict of every ProcessInfo field."""
        return decode_status_reply(self.request(STATUS, encode_status_request(names)))

    def start(self, names: Sequence[str]) -> List[Dict]:
        return decode_action_reply(self.request(START, encode_action_request(names)))

    def stop(self, names: Sequence[str]) -> List[Dict]:
        return decode_action_reply(self.request(STOP, encode_action_request(names)))

    def restart(self, names: Sequence[str]) -> List[Dict]:
        return decode_action_reply(self.request(RESTART, encode_action_request(names)))

    def signal(self, signal: int, names: Sequence[str]) -> List[Dict]:
        return decode_action_reply(self.request(SIGNAL, encode_action_request(names, signal)))

    def pid(self, name: str = "") -> int:
        return decode_pid_reply(self.request(PID, encode_pid_request(name)))

    def version(self) -> str:
        return decode_version_reply(self.request(VERSION_MSG))

    def shutdown(self) -> None:
        self.request(SHUTDOWN)

    def reexec(self) -> None:
        """REEXEC: empty reply; then wardend re-executes and this connection ends."""
        self.request(REEXEC)

    def tail(self, name: str = "", stream: int = STDOUT, unit: int = UNIT_LINES,
             count: int = 10) -> Tuple[str, bytes]:
        """(path, data) of a plain tail: every TAIL reply up to the one whose more is 0."""
        replies = list(self.tail_replies(name, stream, unit, count, follow=False))
        return replies[-1]["path"], b"".join(r["data"] for r in replies)

    def tail_replies(self, name: str = "", stream: int = STDOUT, unit: int = UNIT_LINES,
                     count: int = 10, follow: bool = False, timeout: Optional[float] = None):
        """Yields each TAIL reply (dicts of decode_tail_reply) as it arrives. A follow never ends
        on its own: stop iterating and close the connection. ERROR raises WardenError."""
        request_id = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF or 1
        self.send_frame(TAIL, request_id, encode_tail_request(name, stream, unit, count, follow))
        while True:
            f = self.recv_message(timeout)
            if f.request_id != request_id:
                continue
            if f.type == ERROR:
                code, message = decode_error(f.payload)
                raise WardenError(code, message, request_id)
            if f.type != TAIL | REPLY_BIT:
                raise ProtocolError(f"reply type 0x{f.type:04X} to TAIL")
            reply = decode_tail_reply(f.payload)
            yield reply
            if not reply["more"]:
                return

    def events(self, names: Sequence[str] = (), timeout: Optional[float] = None):
        """Subscribes (EVENTS) and yields each EVENTS reply (dicts of decode_events_reply) as it
        arrives, the snapshot first. It never ends on its own: stop iterating and close the
        connection. ERROR raises WardenError."""
        request_id = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF or 1
        self.send_frame(EVENTS, request_id, encode_events_request(names))
        while True:
            f = self.recv_message(timeout)
            if f.request_id != request_id:
                continue
            if f.type == ERROR:
                code, message = decode_error(f.payload)
                raise WardenError(code, message, request_id)
            if f.type != EVENTS | REPLY_BIT:
                raise ProtocolError(f"reply type 0x{f.type:04X} to EVENTS")
            yield decode_events_reply(f.payload)

    def wait(self, names: Sequence[str], state: str, timeout_ms: int = 0) -> List[Dict]:
        """WAIT: the processes once all are in `state`; WardenError TIMEOUT / NOT_FOUND."""
        return decode_wait_reply(self.request(WAIT, encode_wait_request(names, state,
                                                                        timeout_ms)))

    def reread(self) -> List[Dict]:
        return decode_reread_reply(self.request(REREAD))

    def update(self, names: Sequence[str] = ()) -> List[Dict]:
        return decode_action_reply(self.request(UPDATE, encode_action_request(names)))

    def reload(self) -> List[Dict]:
        """RELOAD: an empty request; UPDATE of everything."""
        return decode_action_reply(self.request(RELOAD))

    def logrotate(self, names: Sequence[str] = ()) -> List[Dict]:
        return decode_action_reply(self.request(LOGROTATE, encode_log_names_request(names)))

    def clear(self, names: Sequence[str]) -> List[Dict]:
        return decode_action_reply(self.request(CLEAR, encode_log_names_request(names)))


def connect(path: str, timeout: float = 30.0, hello: bool = False) -> Connection:
    """Connects to the control socket at path. hello=True also performs the handshake."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # As wardenctl does: a Unix-socket connect waits only while the listener's backlog is full,
    # and SO_SNDTIMEO bounds that wait. (settimeout() first would make the socket non-blocking,
    # and connect would fail at once with EAGAIN whenever the backlog is full.)
    whole, frac = divmod(timeout, 1.0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                    struct.pack("ll", int(whole), int(frac * 1e6)))
    try:
        sock.connect(path)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 0))
        sock.settimeout(timeout)
    except OSError:
        sock.close()
        raise
    conn = Connection(sock)
    if hello:
        conn.hello()
    return conn
