"""The byte layer of docs/protocol.md: frames, primitive types and every payload warden.Client
uses. Pure functions of bytes; no I/O here."""

import struct

MAGIC = b"WRDN"
VERSION = 1
HEADER = struct.Struct(">4sHHII")  # magic, version, type, request id, payload length
MAX_PAYLOAD = 1 << 20

HELLO = 0x0001
STATUS = 0x0002
START = 0x0003
STOP = 0x0004
RESTART = 0x0005
SIGNAL = 0x0006
PID = 0x0007
VERSION_MSG = 0x0008
TAIL = 0x0010
EVENTS = 0x0020
WAIT = 0x0021
ERROR = 0x7FFF
REPLY_BIT = 0x8000

# Section 4. Codes this module does not know are shown as their number.
ERROR_NAMES = {
    0: "OK", 1: "INVALID_ARGUMENT", 2: "NOT_FOUND", 3: "ALREADY_STARTED", 4: "NOT_RUNNING",
    5: "SPAWN_ERROR", 6: "ABNORMAL_TERMINATION", 7: "PROTOCOL", 8: "UNKNOWN_MESSAGE",
    9: "TOO_LARGE", 10: "BUSY", 11: "SHUTTING_DOWN", 12: "PERMISSION_DENIED", 13: "IO",
    14: "CONFIG", 15: "TIMEOUT", 16: "INTERNAL",
}

# Section 6, "States". Any other number is UNKNOWN.
# The words wardenctl (and supervisorctl) print for the codes: the "error" of an action record.
ERROR_WORDS = {
    0: "ok", 1: "invalid argument", 2: "no such process", 3: "already started",
    4: "not running", 5: "spawn error", 6: "abnormal termination", 7: "protocol error",
    8: "unknown message type", 9: "message too large", 10: "busy", 11: "shutting down",
    12: "permission denied", 13: "i/o error", 14: "invalid configuration", 15: "timed out",
    16: "internal error",
}

STATE_NAMES = {
    0: "STOPPED", 10: "STARTING", 20: "RUNNING", 30: "BACKOFF", 40: "STOPPING", 100: "EXITED",
    200: "FATAL", 1000: "UNKNOWN",
}
STATE_NUMBERS = {name: number for number, name in STATE_NAMES.items()}

PROCESS_INFO_MIN = 76
CHILD_MIN = 9
ACTION_RESULT_MIN = 14
STATE_EVENT_MIN = 28


class ProtocolError(Exception):
    """wardend sent bytes that do not follow docs/protocol.md."""


def state_name(number):
    return STATE_NAMES.get(number, "UNKNOWN")


def encode_frame(msg_type, request_id, payload=b""):
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes is over the 1 MiB limit")
    return HEADER.pack(MAGIC, VERSION, msg_type, request_id, len(payload)) + payload


def decode_header(header):
    """(type, request id, payload length) of a 16-byte header."""
    magic, version, msg_type, request_id, length = HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {magic!r}")
    if version != VERSION:
        raise ProtocolError(f"unsupported protocol version {version}")
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"payload length {length} is over the 1 MiB limit")
    return msg_type, request_id, length


def pack_str(text):
    data = text.encode() if isinstance(text, str) else bytes(text)
    return struct.pack(">I", len(data)) + data


def pack_str_list(items):
    return struct.pack(">I", len(items)) + b"".join(pack_str(s) for s in items)


class Reader:
    """Reads fields in order from a payload or a record; a short read is a ProtocolError."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n > self.remaining():
            raise ProtocolError(f"payload ends {n - self.remaining()} bytes early")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))[0]

    def u8(self):
        return self.unpack(">B")

    def u16(self):
        return self.unpack(">H")

    def u32(self):
        return self.unpack(">I")

    def u64(self):
        return self.unpack(">Q")

    def i32(self):
        return self.unpack(">i")

    def i64(self):
        return self.unpack(">q")

    def raw(self):
        return self.take(self.u32())

    def string(self):
        return self.raw().decode("utf-8", errors="replace")

    def count(self, min_element_size):
        """A list's count, refused when the elements cannot fit in what is left."""
        n = self.u32()
        if n > self.remaining() // min_element_size:
            raise ProtocolError(f"a count of {n} cannot fit in {self.remaining()} bytes")
        return n

    def str_list(self):
        return [self.string() for _ in range(self.count(4))]

    def record(self):
        """The next record as a Reader of its own; the bytes after its known fields are
        skipped with it (section 8)."""
        return Reader(self.raw())


# --- payloads ---------------------------------------------------------------------------------


def encode_hello(client):
    return struct.pack(">HH", VERSION, VERSION) + pack_str(client)


def decode_hello_reply(payload):
    r = Reader(payload)
    return {"version": r.u16(), "server": r.string(), "daemon_pid": r.u32()}


def decode_error(payload):
    r = Reader(payload)
    return r.u16(), r.string()


def decode_process_info(r):
    """A ProcessInfo record as a dict of its fields, named as in docs/protocol.md."""
    p = {"name": r.string(), "group": r.string(), "state": r.u16(), "pid": r.i32(),
         "kernel_state": r.u8(), "start_time_ms": r.i64(), "stop_time_ms": r.i64(),
         "uptime_ms": r.u64(), "restarts": r.u32(), "exit_kind": r.u8(),
         "exit_value": r.i32(), "reason": r.string(), "cpu_time_ms": r.u64(),
         "rss_bytes": r.u64()}
    children = []
    for _ in range(r.count(CHILD_MIN)):
        c = r.record()
        children.append({"pid": c.i32(), "kernel_state": c.u8()})
    p["children"] = children
    # Appended fields (section 8): absent from an older daemon, then empty / 0.
    p["status_text"] = r.string() if r.remaining() else ""
    p["retry_in_ms"] = r.u64() if r.remaining() >= 8 else 0
    p["health"] = r.string() if r.remaining() else ""
    return p


def decode_status_reply(payload):
    """(processes, unknown names)."""
    r = Reader(payload)
    processes = [decode_process_info(r.record()) for _ in range(r.count(PROCESS_INFO_MIN))]
    return processes, r.str_list()


def encode_action_request(names, signal=0):
    return pack_str_list(names) + struct.pack(">i", signal)


def decode_action_reply(payload):
    r = Reader(payload)
    results = []
    for _ in range(r.count(ACTION_RESULT_MIN)):
        rec = r.record()
        results.append({"name": rec.string(), "code": rec.u16(), "message": rec.string()})
    return results


def encode_tail_request(name, stream, lines, count, follow):
    return pack_str(name) + struct.pack(">BBQB", stream, 1 if lines else 0, count,
                                        1 if follow else 0)


def decode_tail_reply(payload):
    r = Reader(payload)
    return {"more": bool(r.u8()), "path": r.string(), "data": r.raw()}


def decode_state_event(r):
    return {"time_ms": r.i64(), "process": r.string(), "from": r.u16(), "to": r.u16(),
            "pid": r.i32(), "reason": r.string()}


def decode_events_reply(payload):
    r = Reader(payload)
    snapshot = bool(r.u8())
    return snapshot, [decode_state_event(r.record()) for _ in range(r.count(STATE_EVENT_MIN))]


def encode_wait_request(names, state, timeout_ms):
    return pack_str_list(names) + struct.pack(">HI", state, timeout_ms)


def decode_wait_reply(payload):
    r = Reader(payload)
    return [decode_state_event(r.record()) for _ in range(r.count(STATE_EVENT_MIN))]


def decode_pid_reply(payload):
    return Reader(payload).i32()


def decode_version_reply(payload):
    return Reader(payload).string()
