"""wardend's own log: journal priorities on a journal stream, structured journal entries, a
rotated file (log_target; daemon/logs/log_targets.h)."""

import os
import re
import socket
import struct

from conftest import wait_until

PROGRAM = """
    web:
      command: /bin/sleep 3600
      startsecs: 0
"""


def start_with_target(warden, target, wait_ready=True):
    """Starts wardend on PROGRAM with warden.log_target set to `target`."""
    path = warden.write_config(PROGRAM)
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("  log_level: debug\n",
                             f"  log_level: debug\n  log_target: {target}\n", 1))
    return warden.start(wait_ready=wait_ready)


def parse_native(data):
    """The fields of one journal native-protocol datagram."""
    fields = {}
    while data:
        line_end = data.index(b"\n")
        head = data[:line_end]
        if b"=" in head:
            key, value = head.split(b"=", 1)
            data = data[line_end + 1:]
        else:
            key = head
            size = struct.unpack("<Q", data[line_end + 1:line_end + 9])[0]
            value = data[line_end + 9:line_end + 9 + size]
            data = data[line_end + 9 + size + 1:]
        fields[key.decode()] = value.decode()
    return fields


def test_journal_stream_lines_carry_priorities_and_no_timestamp(warden, monkeypatch):
    open(warden.stderr_path, "wb").close()
    st = os.stat(warden.stderr_path)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
    warden.start(PROGRAM + """
    broken:
      command: /no/such/program
      startretries: 0
""")
    warden.wait_state("web", "RUNNING")
    wait_until(lambda: re.search(r"^<4>broken: ", warden.log(), re.M),
               what="a warning about broken with its priority")
    lines = [line for line in warden.log().splitlines() if line]
    assert lines and all(re.match(r"<[0-7]>", line) for line in lines), lines
    assert not any(re.match(r"<\d>\d{4}-\d\d-\d\d", line) for line in lines), lines
    assert any(line.startswith("<6>") for line in lines), lines


def test_journal_stream_start_up_config_errors_are_errors(warden, monkeypatch):
    # Written before the logger exists, yet `journalctl -u warden -p err` must show them.
    open(warden.stderr_path, "wb").close()
    st = os.stat(warden.stderr_path)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
    warden.start("""
    web:
      command: [1, 2
""", wait_ready=False)
    assert warden.proc.wait(timeout=15) == 1
    lines = [line for line in warden.log().splitlines() if line]
    assert lines and all(line.startswith("<3>") for line in lines), lines
    assert re.match(r"<3>.*warden\.yaml:\d+:\d+: ", lines[0]), lines


def test_a_journal_stream_that_is_not_stderr_changes_nothing(warden, monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "1:1")
    warden.start(PROGRAM)
    first = warden.log().splitlines()[0]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first), first


def test_journald_target_sends_structured_entries(warden, monkeypatch):
    path = os.path.join(warden.root, "journal.sock")
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(path)
    journal.settimeout(10)
    monkeypatch.setenv("WARDEN_JOURNAL_SOCKET", path)
    try:
        start_with_target(warden, "journald")
        warden.wait_state("web", "RUNNING")
        entries = []

        def about_web():
            entries.append(parse_native(journal.recv(1 << 20)))
            return any(e.get("WARDEN_PROGRAM") == "web" for e in entries)

        wait_until(about_web, what="an entry about web")
        assert all(e["SYSLOG_IDENTIFIER"] == "wardend" for e in entries), entries
        assert all(e["PRIORITY"] in "01234567" and e["MESSAGE"] for e in entries), entries
        web = next(e for e in entries if e.get("WARDEN_PROGRAM") == "web")
        assert web["MESSAGE"].startswith("web: "), web
        # Nothing but the sanitizer's voice goes to stderr any more.
        assert "web: " not in warden.log()
        # maintail keeps its copy whatever the target.
        assert "web: " in warden.ctl("maintail", check=0).stdout
    finally:
        journal.close()


def test_journald_target_without_a_journal_keeps_running(warden, monkeypatch):
    monkeypatch.setenv("WARDEN_JOURNAL_SOCKET", os.path.join(warden.root, "nobody-here.sock"))
    start_with_target(warden, "journald")
    warden.wait_state("web", "RUNNING")
    assert warden.ctl("status", "web", check=0).stdout.split()[1] == "RUNNING"


def test_file_target_writes_the_log_there(warden):
    path = os.path.join(warden.root, "daemon", "wardend.log")
    os.mkdir(os.path.dirname(path))
    start_with_target(warden, path)
    warden.wait_state("web", "RUNNING")
    wait_until(lambda: os.path.exists(path) and "web: " in open(path).read(),
               what="wardend's log file to mention web")
    assert "web: " not in warden.log()


def test_a_log_file_that_cannot_be_opened_is_refused_at_start(warden):
    start_with_target(warden, "/proc/no/such/dir/wardend.log", wait_ready=False)
    assert warden.proc.wait(timeout=30) == 1
    assert "log_target /proc/no/such/dir/wardend.log" in warden.log()
