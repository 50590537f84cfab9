"""Boots a real systemd (the machine's /lib/systemd/systemd) as PID 1 of private namespaces,
on a throw-away overlay of the machine's own root file system, and tears it all down again.

Nothing on the host changes while it runs, except what it removes again at the end:
- a cgroup2 group under the machine's cgroup2 mount (/sys/fs/cgroup/unified on a hybrid
  machine, /sys/fs/cgroup on a unified one), which becomes the box's cgroup namespace root;
- a scratch folder (default under /var/tmp) with the console log and `share/`, which is
  bind-mounted at /mnt/warden-test inside the box (put the .deb there).
Every mount is made inside the box's own mount namespace (propagation private), so it goes
away with the namespace; every process is in the box's PID namespace, so killing its PID 1
ends them all.

How the box is made (see README.md next to this file):
  unshare --pid --fork --kill-child=SIGKILL --mount --propagation private --uts --ipc --net
    PID 1 (sh): moves itself into the new cgroup, then
  unshare --cgroup  (same process: the cgroup namespace's root is now that group)
    overlay lowerdir=/ upper on tmpfs; fresh /proc, read-only /sys, cgroup2 on /sys/fs/cgroup,
    tmpfs /dev with device nodes and a private devpts, tmpfs /run and /tmp; the host's
    policy-rc.d removed (in the overlay); default.target -> warden-test.target;
    pivot_root; exec env -i container=warden-test /lib/systemd/systemd
Commands run inside with `nsenter -t PID1 -a` (BootedSystemd.run); `systemctl poweroff`
ends it (BootedSystemd.stop, which then kills PID 1 if it did not end in time).
"""

import ctypes
import glob
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

DEFAULT_TARGET = "warden-test.target"
SHARE_INSIDE = "/mnt/warden-test"

# The boot target: what a service needs (sysinit.target, through its default dependencies)
# plus sockets.target (journald's sockets); not multi-user.target, so none of the machine's
# enabled services (postgresql, timers, getty, ...) start.
TARGET_UNIT = """\
[Unit]
Description=warden systemd test (minimal boot)
Requires=sysinit.target sockets.target
After=sysinit.target sockets.target
AllowIsolate=yes
"""

STAGE1 = r"""
set -eu
# PID 1 of the new PID namespace. Into the test's own cgroup first: systemd must find itself
# at the root of a cgroup namespace (its own delegated subtree), or it refuses to boot.
echo $$ > "$1/cgroup.procs"
exec unshare --cgroup -- /bin/sh -c "$STAGE2" stage2 "$2"
"""

STAGE2 = r"""
set -eu
scratch=$1
base=$scratch/base
root=$base/root
mount -t tmpfs -o mode=0755 warden-test-upper "$base"
mkdir "$base/upper" "$base/work" "$root"
# The machine's root file system, read through an overlay: writes land in the tmpfs.
mount -t overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" warden-test "$root"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
mount -t tmpfs -o mode=0755,nosuid,size=4m dev "$root/dev"
for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  IFS=: read -r name major minor <<EOF
$node
EOF
  mknod -m 0666 "$root/dev/$name" c "$major" "$minor"
done
mkdir "$root/dev/pts" "$root/dev/shm" "$root/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mount -t tmpfs -o mode=0755,nosuid,nodev run "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$root/tmp"
mkdir -p "$root/mnt/warden-test"
mount --bind "$scratch/share" "$root/mnt/warden-test"
# Debian images (docker-style) carry a policy-rc.d that forbids starting services from
# maintainer scripts; the box is a real system: remove it (from the overlay only).
rm -f "$root/usr/sbin/policy-rc.d"
cat > "$root/etc/systemd/system/warden-test.target" <<'EOF'
@TARGET_UNIT@
EOF
ln -sfn warden-test.target "$root/etc/systemd/system/default.target"
echo warden-test > "$root/etc/hostname"
hostname warden-test
mkdir "$root/.oldroot"
cd "$root"
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
cd /
exec env -i container=warden-test TERM=dumb /lib/systemd/systemd --unit=warden-test.target
"""


class BootError(RuntimeError):
    pass


def cgroup2_mount():
    """Where the machine's cgroup2 hierarchy is mounted (unified or hybrid), or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2":
                return fields[4]
    return None


def can_boot():
    """None if this machine can boot systemd in namespaces, else the reason why not."""
    if os.geteuid() != 0:
        return "needs root (namespaces, mounts, cgroups)"
    if not os.path.exists("/lib/systemd/systemd"):
        return "no /lib/systemd/systemd (apt-get install systemd)"
    for tool in ("unshare", "nsenter", "pivot_root", "mknod"):
        if shutil.which(tool) is None:
            return f"no {tool} (util-linux/coreutils)"
    if cgroup2_mount() is None:
        return "no cgroup2 hierarchy mounted"
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            return "no overlayfs in this kernel"
    return None


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _die_with_parent():
    """preexec_fn: SIGKILL when the process that started the box dies (then unshare's
    --kill-child takes the box's PID 1, and with it the whole box, along)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def remove_stale(scratch_parent="/var/tmp"):
    """Removes the cgroups and scratch folders of boxes whose test process was killed before
    it could clean up (their names carry its pid): nothing runs there any more."""
    def dead(path):
        m = re.search(r"warden-systemd-(?:test-)?(\d+)-", os.path.basename(path))
        return m and not os.path.exists(f"/proc/{m.group(1)}")
    root = cgroup2_mount()
    for group in glob.glob(os.path.join(root, "warden-systemd-test-*")) if root else []:
        if dead(group) and "populated 0" in _read(os.path.join(group, "cgroup.events")):
            try:
                _remove_cgroup_tree(group)
            except OSError:
                pass
    mounted = _read("/proc/self/mountinfo")
    for folder in glob.glob(os.path.join(scratch_parent, "warden-systemd-*")):
        if dead(folder) and folder not in mounted:
            shutil.rmtree(folder, ignore_errors=True)


def _remove_cgroup_tree(path):
    """rmdir a cgroup and every group below it, deepest first."""
    for dirpath, dirnames, _ in sorted(os.walk(path), key=lambda e: -e[0].count("/")):
        os.rmdir(dirpath)


class BootedSystemd:
    """A systemd booted in namespaces. Use as a context manager, or start() then stop()."""

    def __init__(self, scratch_parent="/var/tmp", boot_timeout=60):
        self.scratch_parent = scratch_parent
        self.boot_timeout = boot_timeout
        self.scratch = None
        self.cgroup = None
        self.unshare = None  # the `unshare` process (host side)
        self.pid1 = None  # host pid of the box's PID 1 (systemd)
        self.pidns = None  # inode of its PID namespace: identifies the box's processes

    # -- set up ----------------------------------------------------------------------------

    @property
    def share(self):
        """Host path of the folder the box sees as /mnt/warden-test."""
        return os.path.join(self.scratch, "share")

    @property
    def console_log(self):
        return os.path.join(self.scratch, "console.log")

    def start(self):
        reason = can_boot()
        if reason:
            raise BootError(reason)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        remove_stale(self.scratch_parent)
        self.scratch = tempfile.mkdtemp(prefix=f"warden-systemd-{os.getpid()}-",
                                        dir=self.scratch_parent)
        os.mkdir(self.share)
        os.mkdir(os.path.join(self.scratch, "base"))
        self.cgroup = os.path.join(cgroup2_mount(),
                                   f"warden-systemd-test-{os.getpid()}-{secrets.token_hex(3)}")
        os.mkdir(self.cgroup)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
               "STAGE2": STAGE2.replace("@TARGET_UNIT@", TARGET_UNIT.rstrip("\n"))}
        with open(self.console_log, "wb") as console:
            # --kill-child: if unshare is killed, so is the box's PID 1 (and with it the box).
            self.unshare = subprocess.Popen(
                ["unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount",
                 "--propagation", "private", "--uts", "--ipc", "--net", "--",
                 "/bin/sh", "-c", STAGE1, "stage1", self.cgroup, self.scratch],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT, env=env,
                start_new_session=True, preexec_fn=_die_with_parent)
        # PID 1 is unshare's only child; it moves itself into the cgroup first thing.
        deadline = time.monotonic() + 10
        while self.pid1 is None:
            children = _read(f"/proc/{self.unshare.pid}/task/{self.unshare.pid}/children").split()
            if children:
                self.pid1 = int(children[0])
                self.pidns = os.stat(f"/proc/{self.pid1}/ns/pid").st_ino
            elif self.unshare.poll() is not None or time.monotonic() > deadline:
                raise BootError(f"the box's PID 1 did not appear:\n{self.console()}")
            else:
                time.sleep(0.01)
        self.wait_booted()

    def wait_booted(self):
        """Waits for the boot transaction to finish: `systemctl is-system-running` says
        running (or degraded, which is then an error with the failed units listed)."""
        deadline = time.monotonic() + self.boot_timeout
        state = ""
        while time.monotonic() < deadline:
            if self.unshare.poll() is not None:
                raise BootError(f"systemd exited ({self.unshare.returncode}) while booting:\n"
                                f"{self.console()}")
            # Wait until systemd (not the setup shell) is PID 1 and answers.
            if os.path.basename(os.readlink(f"/proc/{self.pid1}/exe")) == "systemd":
                r = self.run("systemctl", "is-system-running", check=False, timeout=10)
                state = r.stdout.strip()
                if state == "running":
                    return
                if state == "degraded":
                    failed = self.run("systemctl", "--failed", "--no-pager", check=False)
                    raise BootError(f"the box booted degraded:\n{failed.stdout}\n{self.console()}")
            time.sleep(0.1)
        raise BootError(f"the box did not finish booting in {self.boot_timeout} s (state "
                        f"{state!r}):\n{self.console()}")

    # -- use -------------------------------------------------------------------------------

    def console(self):
        return _read(self.console_log)[-8000:] if self.scratch else ""

    def command(self, *argv):
        """argv for running `argv` inside the box."""
        return ["nsenter", "-t", str(self.pid1), "-a", "--",
                "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                "DEBIAN_FRONTEND=noninteractive", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", *argv]

    def run(self, *argv, check=True, timeout=60, input=None):
        """Runs `argv` inside the box (all its namespaces, its root); returns the
        CompletedProcess (text). check=True: a non-zero exit raises AssertionError."""
        r = subprocess.run(self.command(*argv), capture_output=True, text=True, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"in the box: {' '.join(argv)} exited {r.returncode}\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def sh(self, script, check=True, timeout=60):
        return self.run("/bin/sh", "-c", script, check=check, timeout=timeout)

    def write(self, path, text, mode=0o644):
        """Writes a file inside the box (through its root)."""
        self.run("/bin/sh", "-c", f'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod {mode:o} "$1"',
                 "write", path, input=text)

    def host_pids(self):
        """Host pids of every process in the box's PID namespace."""
        pids = []
        if self.pidns is None:
            return pids
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat(f"/proc/{entry}/ns/pid").st_ino == self.pidns:
                        pids.append(int(entry))
                except OSError:
                    pass
        return pids

    # -- tear down -------------------------------------------------------------------------

    def stop(self, timeout=60):
        """Powers the box off (systemctl poweroff), kills its PID 1 if that does not end it in
        time, removes its cgroup and its scratch folder. Safe to call more than once and after
        a failed start. Returns a list of problems (empty when the host is as it was)."""
        problems = []
        if self.unshare is not None and self.unshare.poll() is None:
            if self.pid1 is not None:
                try:
                    subprocess.run(self.command("systemctl", "--no-block", "poweroff"),
                                   capture_output=True, timeout=15, stdin=subprocess.DEVNULL)
                except subprocess.TimeoutExpired:
                    pass
            try:
                self.unshare.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                problems.append(f"systemd did not power off in {timeout} s: killed")
        if self.unshare is not None:
            if self.pid1 is not None:
                # Ends the PID namespace: the kernel kills every process in it.
                try:
                    os.kill(self.pid1, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if self.unshare.poll() is None:
                try:
                    self.unshare.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(self.unshare.pid, signal.SIGKILL)
                    self.unshare.wait()
        deadline = time.monotonic() + 20
        while self.host_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.host_pids():
            problems.append(f"processes left in the box's PID namespace: {self.host_pids()}")
        if self.cgroup is not None and os.path.isdir(self.cgroup):
            while "populated 1" in _read(os.path.join(self.cgroup, "cgroup.events")):
                if time.monotonic() > deadline:
                    problems.append(f"cgroup {self.cgroup} still populated")
                    break
                time.sleep(0.05)
            try:
                _remove_cgroup_tree(self.cgroup)
            except OSError as e:
                problems.append(f"cannot remove cgroup {self.cgroup}: {e}")
        if self.scratch is not None:
            mounted = [line for line in _read("/proc/self/mountinfo").splitlines()
                       if self.scratch in line]
            if mounted:
                problems.append(f"mounts left on the host: {mounted}")
            else:
                self.kept_console = self.console()
                shutil.rmtree(self.scratch, ignore_errors=True)
        return problems

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        problems = self.stop()
        if problems and exc[0] is None:
            raise AssertionError("; ".join(problems))
