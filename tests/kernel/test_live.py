"""Live eBPF capture against real commands: each scenario runs in a child process while the capture runs in this
test process; its events are found after enrichment by the state engine (pid, ppid, exe, args, path, address,
result, pid-namespace ids, tty, cwd, cgroups and container). Runs as root (CI: `pytest -m root`); skipped
without root."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.compute as pc
import pytest

pytestmark = pytest.mark.root

if os.geteuid() != 0:
    pytest.skip("live capture needs root", allow_module_level=True)

from kernel import procfs  # noqa: E402
from kernel.convert import CREAT_FLAGS, open_flags  # noqa: E402
from kernel.live import LiveCapture  # noqa: E402
from kernel.syscalls import needed_syscalls  # noqa: E402
from tests.cgroups import cgroup_mount, new_cgroup, remove_cgroups  # noqa: E402
from stages.state import capabilities  # noqa: E402
from stages.state.enrich import Enricher  # noqa: E402

FIELDS = {"evt.type", "evt.res", "evt.rawres", "thread.tid", "proc.pid", "proc.ppid", "proc.name", "proc.exe",
          "proc.exepath", "proc.args", "proc.cmdline", "fd.name", "fd.rip", "fd.rport", "fd.lip", "fd.typechar",
          "evt.arg.target", "evt.arg.linkpath", "evt.arg.oldpath", "evt.arg.newpath", "evt.rawarg.request",
          "evt.rawarg.uid", "evt.arg.name", "evt.rawarg.flags", "evt.dir", "evt.num", "user.uid", "proc.cwd",
          "proc.is_exe_from_memfd", "proc.vpid", "thread.vtid", "proc.tty", "container.id", "evt.rawarg.fd1",
          "evt.rawarg.fd2", "fd.num", "thread.cap_effective", "thread.cap_permitted", "thread.cap_inheritable",
          "evt.rawarg.cap_effective", "proc.is_exe_upper_layer", "proc.exe_ino", "proc.exe_ino.ctime",
          "proc.exe_ino.mtime", "proc.exe_ino.ctime_duration_proc_start", "proc.pidns_init_start_ts",
          "proc.pid.ts", "evt.buffer", "evt.buflen", "evt.rawarg.size", "evt.rawarg.pos", "evt.arg.tuple",
          "evt.arg.data", "evt.arg.flags", "evt.rawarg.name"}
DEADLINE_S = 60
TEST_PID = os.getpid()


def _config(ring_bytes: int = 4 << 20) -> SimpleNamespace:
    return SimpleNamespace(pipeline=SimpleNamespace(batch_size=4096, flush_ms=10),
                           engine=SimpleNamespace(ring_bytes=ring_bytes), base_syscalls=None)


def _python(code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], **kwargs)


class Scenarios:
    """Runs every scenario once and remembers the pids and facts the tests look for."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pids: dict[str, int] = {}
        self.facts: dict[str, object] = {}
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.drains_allowed = threading.Event()
        self.drains_allowed.set()
        self.parked = threading.Event()

    def run(self) -> None:
        try:
            self._exec_with_args()
            self._opens()
            self._many_flags()
            self._connect()
            self._io()
            self._pipes()
            self._links()
            self._ptrace()
            self._memfd_exec()
            self._pid_namespace()
            self._new_tty()
            self._fresh_cgroups()
            self._cwd_of_quick_exit()
            self._capabilities()
            self._overlay_layers()
            self._setuid()
        except BaseException as exc:  # surfaced by the fixture
            self.error = exc
        finally:
            self.done.set()

    def _wait(self, name: str, proc: subprocess.Popen) -> None:
        self.pids[name] = proc.pid
        assert proc.wait(timeout=30) == 0, f"scenario {name} failed"

    def _exec_with_args(self) -> None:
        self._wait("echo", subprocess.Popen(["/bin/echo", "saker-live-arg", "second arg"], stdout=subprocess.DEVNULL))

    def _opens(self) -> None:
        path = self.tmp / "opened.txt"
        self.facts["open_path"] = str(path)
        code = ("import os, ctypes\n"
                f"fd = os.open({str(path)!r}, os.O_CREAT | os.O_WRONLY, 0o640); os.close(fd)\n"
                "fd = os.open('opened.txt', os.O_RDONLY); os.close(fd)\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "fd = libc.syscall(2, %r, 0, 0); os.close(fd)\n"
                "libc.syscall(85, %r, 0o600)\n") % (str(path).encode(), str(self.tmp / "created").encode())
        # The relative open resolves against the cwd the child was started in (read at its exec).
        self._wait("open", _python(code, cwd=self.tmp))

    def _pipes(self) -> None:
        """pipe2 (Python's os.pipe) and pipe (the raw syscall) in a child that writes down the fds it got."""
        out = self.tmp / "pipes.txt"
        code = ("import ctypes, os\n"
                "r, w = os.pipe()\n"
                "fds = (ctypes.c_int * 2)()\n"
                "assert ctypes.CDLL(None).syscall(22, fds) == 0\n"
                f"open({str(out)!r}, 'w').write(f'{{r}} {{w}} {{fds[0]}} {{fds[1]}}')\n"
                "os.close(r)\n")
        self._wait("pipes", _python(code))
        self.facts["pipe_fds"] = [int(number) for number in out.read_text().split()]

    def _many_flags(self) -> None:
        """100 opens with as many distinct flag values in a few milliseconds (one batch): any process can."""
        path = self.tmp / "flags.txt"
        path.write_text("")
        self.facts["flags_path"] = str(path)
        bits = [os.O_NOCTTY, os.O_APPEND, os.O_NONBLOCK, os.O_DSYNC, os.O_NOFOLLOW, os.O_NOATIME, os.O_CLOEXEC]
        code = (f"import os\nbits = {bits!r}\n"
                "for i in range(100):\n"
                "    flags = os.O_RDONLY | sum(b for k, b in enumerate(bits) if i >> k & 1)\n"
                f"    os.close(os.open({str(path)!r}, flags))\n")
        self._wait("flags", _python(code))

    def _connect(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        self.facts["port"] = port
        proc = _python(f"import socket; s = socket.create_connection(('127.0.0.1', {port})); s.close()")
        conn, _ = listener.accept()
        conn.close()
        listener.close()
        self._wait("connect", proc)

    def _io(self) -> None:
        """The read/write family on a file (plain, positioned, vectored; a write longer than the snaplen; a write
        to a bad fd) and on UDP sockets (sendto/recvfrom, sendmsg/recvmsg)."""
        path = self.tmp / "io.txt"
        self.facts["io_path"] = str(path)
        code = ("import os, socket\n"
                f"fd = os.open({str(path)!r}, os.O_CREAT | os.O_RDWR, 0o600)\n"
                "os.write(fd, b'hello saker'); os.pwrite(fd, b'PW', 3); os.writev(fd, [b'vec-one|', b'vec-two'])\n"
                "os.lseek(fd, 0, 0); os.read(fd, 100); os.pread(fd, 5, 6)\n"
                "os.lseek(fd, 0, 0); os.readv(fd, [bytearray(4), bytearray(200)])\n"
                "os.write(fd, b'y' * 200); os.close(fd)\n"
                "try:\n    os.write(fd, b'closed fd')\nexcept OSError:\n    pass\n"
                "a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('127.0.0.1', 0))\n"
                "b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(('127.0.0.1', 0))\n"
                "a.sendto(b'udp-datagram', b.getsockname()); b.recvfrom(100)\n"
                "a.sendmsg([b'msg-a|', b'msg-b'], [], 0, b.getsockname()); b.recvmsg(100)\n"
                "print(a.getsockname()[1], b.getsockname()[1])\n")
        proc = _python(code, stdout=subprocess.PIPE, text=True)
        ports = proc.stdout.read().split()
        self.facts["udp_ports"] = tuple(int(port) for port in ports)
        self._wait("io", proc)

    def _links(self) -> None:
        target, link, hard = self.tmp / "target", self.tmp / "symlink", self.tmp / "hardlink"
        target.write_text("x")
        self.facts.update(target=str(target), symlink=str(link), hardlink=str(hard))
        self._wait("links", _python(f"import os; os.symlink({str(target)!r}, {str(link)!r}); "
                                    f"os.link({str(target)!r}, {str(hard)!r})"))

    def _ptrace(self) -> None:
        self._wait("ptrace", _python("import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
                                     "assert libc.ptrace(0, 0, None, None) == 0"))

    def _memfd_exec(self) -> None:
        code = ("import os\n"
                "fd = os.memfd_create('saker-memfd', 0)\n"
                "os.write(fd, open('/bin/true', 'rb').read())\n"
                "os.execv(f'/proc/self/fd/{fd}', ['saker-memfd-true', 'from-memfd'])\n")
        self._wait("memfd", _python(code))

    def _capabilities(self) -> None:
        """setpriv execs /bin/true without CAP_SYS_MODULE in its bounding set (so not in the new program's sets);
        a Python child drops CAP_SYS_ADMIN from its effective set with capset, then opens /dev/null."""
        self._wait("caps_exec", subprocess.Popen(["/usr/bin/setpriv", "--bounding-set=-sys_module", "/bin/true"]))
        code = ("import ctypes, os\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "header = (ctypes.c_uint32 * 2)(0x20080522, 0)\n"  # _LINUX_CAPABILITY_VERSION_3
                "sets = (ctypes.c_uint32 * 6)()\n"  # effective, permitted, inheritable: low then high words
                "assert libc.syscall(125, header, sets) == 0\n"
                "sets[0] &= ~(1 << 21)\n"  # CAP_SYS_ADMIN
                "assert libc.syscall(126, header, sets) == 0\n"
                "os.close(os.open('/dev/null', os.O_RDONLY))\n")
        self._wait("capset", _python(code))

    def _overlay_layers(self) -> None:
        """An overlayfs mount (a container's root file system is one): a program copied in through it lands in
        the upper (writable) layer; one that was there already comes from the lower layer (the image)."""
        root = self.tmp / "overlay"
        lower, upper, work, merged = (root / name for name in ("lower", "upper", "work", "merged"))
        for folder in (lower, upper, work, merged):
            folder.mkdir(parents=True)
        shutil.copy("/bin/true", lower / "true-lower")
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={lower},upperdir={upper},workdir={work}", str(merged)], check=True)
        try:
            shutil.copy("/bin/true", merged / "true-upper")
            self.facts["overlay"] = str(merged)
            self._wait("upper", subprocess.Popen([str(merged / "true-upper")]))
            self._wait("lower", subprocess.Popen([str(merged / "true-lower")]))
        finally:
            subprocess.run(["umount", str(merged)], check=True)

    def _setuid(self) -> None:
        self._wait("setuid", _python("import os; os.setuid(65534); os.close(os.open('/dev/null', os.O_RDONLY))"))

    def between_batches(self) -> None:
        """Called by the capture loop after each batch: waits there while a scenario holds the drains."""
        if not self.drains_allowed.is_set():
            self.parked.set()
            self.drains_allowed.wait(DEADLINE_S)

    @contextmanager
    def reader_parked(self) -> Iterator[None]:
        """Runs the block while the capture loop waits between two batches: the block's processes have exited
        (and /proc has nothing left of them) before any record of theirs is turned into a batch."""
        self.drains_allowed.clear()
        try:
            subprocess.run(["/bin/true"], check=True)  # an event: a batch comes and the loop parks, even when idle
            assert self.parked.wait(DEADLINE_S), "the capture loop did not park"
            yield
        finally:
            self.parked.clear()
            self.drains_allowed.set()

    def _pid_namespace(self) -> None:
        """unshare forks pid 1 of a new pid namespace, a shell that execs /bin/true."""
        unshare = ["/usr/bin/unshare", "--pid", "--fork", "/bin/sh", "-c", "exec /bin/true"]
        self._wait("pidns", subprocess.Popen(unshare))

    def _new_tty(self) -> None:
        """setsid --ctty makes a new pty the controlling terminal of a new session, then execs cat on it; its
        tty is read from /proc (as kernel.procfs does at start) while cat waits for input, then the pty is
        closed and cat ends."""
        master, slave = os.openpty()
        try:
            proc = subprocess.Popen(["/usr/bin/setsid", "--ctty", "/bin/cat"], stdin=slave, stdout=slave, stderr=slave)
            self.pids["tty"] = proc.pid
            os.close(slave)
            slave = -1
            deadline = time.monotonic() + DEADLINE_S
            while (info := procfs.thread_info(proc.pid)) is None or info.comm != "cat":
                assert time.monotonic() < deadline and proc.poll() is None, "cat did not start on the pty"
                time.sleep(0.01)
            self.facts["proc_tty"] = info.tty
        finally:
            os.close(master)  # hangs the pty up: cat reads its end or dies of SIGHUP
            if slave >= 0:
                os.close(slave)
        proc.wait(timeout=30)

    def _fresh_cgroups(self) -> None:
        """A process moves itself into a new pids cgroup and a Docker-like cpu cgroup, then execs /bin/true,
        which has exited before the reader builds the batch of its exec. The directories go in any case."""
        container = secrets.token_hex(32)
        created: list[Path] = []
        try:
            pids_dir = new_cgroup("pids", f"saker-test-{os.getpid()}", created)
            cpu_dir = new_cgroup("cpu", f"docker/{container}", created)
            # On cgroup v2 both are one hierarchy: the second move wins for every controller.
            shared = cgroup_mount("pids") == cgroup_mount("cpu")
            self.facts.update(container=container, cpu_cgroup=f"/docker/{container}",
                              pids_cgroup=f"/docker/{container}" if shared else f"/saker-test-{os.getpid()}")
            code = ("import os\n"
                    f"for d in ({str(pids_dir)!r}, {str(cpu_dir)!r}):\n"
                    "    open(os.path.join(d, 'cgroup.procs'), 'w').write(str(os.getpid()))\n"
                    "os.execv('/bin/true', ['/bin/true'])\n")
            with self.reader_parked():
                self._wait("cgroups", _python(code))
        finally:
            remove_cgroups(created)

    def _cwd_of_quick_exit(self) -> None:
        """A shell changes to a folder and execs /bin/true, which has exited before its batch is built."""
        folder = self.tmp / "cwd-at-exec"
        folder.mkdir()
        self.facts["cwd"] = os.path.realpath(folder)
        with self.reader_parked():
            self._wait("cwd", subprocess.Popen(["/bin/sh", "-c", f"cd {str(folder)!r} && exec /bin/true"]))


@pytest.fixture(scope="module", name="captured")
def fixture_captured(tmp_path_factory):
    """One live capture while every scenario runs; returns (rows, scenarios, capture)."""
    scenarios = Scenarios(tmp_path_factory.mktemp("live"))
    capture = LiveCapture(_config(), rule_event_types=None)
    capture.started = threading.Event()
    control = SimpleNamespace(stop=threading.Event())
    rows: list[dict] = []

    def drive() -> None:
        if capture.started.wait(DEADLINE_S):
            scenarios.run()
        else:
            scenarios.error = TimeoutError("capture did not start")
            scenarios.done.set()

    threading.Thread(target=drive, daemon=True).start()
    deadline = time.monotonic() + DEADLINE_S
    watchdog = threading.Timer(DEADLINE_S, control.stop.set)
    watchdog.start()
    finished_at = None
    enricher = None
    try:
        for raw in capture.batches(control):
            enricher = enricher or Enricher(capture.metadata)
            enriched = enricher.enrich(raw, FIELDS)
            rows += enriched.filter(pc.equal(enriched.column("evt.dir"), "<")).to_pylist()
            scenarios.between_batches()
            if scenarios.done.is_set():
                # Every scenario has exited: stop once its last event (the setuid child's exit) is in.
                finished_at = finished_at or time.monotonic()
                last = scenarios.pids.get("setuid")
                if any(r["evt.type"] == "setuid" and r["proc.pid"] == last for r in rows) or \
                        time.monotonic() - finished_at > 5 or time.monotonic() > deadline:
                    control.stop.set()
    finally:
        watchdog.cancel()
        control.stop.set()
    if scenarios.error is not None:
        raise scenarios.error
    return rows, scenarios, capture


def _events(rows, pid, evt_type=None):
    return [r for r in rows if r["proc.pid"] == pid and (evt_type is None or r["evt.type"] in
                                                          ((evt_type,) if isinstance(evt_type, str) else evt_type))]


def test_exec_with_arguments_has_pid_ppid_exe_and_args(captured):
    """The echo child's execve shows its pid, this test as parent, argv[0] as exe and the arguments."""
    rows, scenarios, _ = captured
    pid = scenarios.pids["echo"]
    execs = _events(rows, pid, "execve")
    assert len(execs) == 1
    event = execs[0]
    assert event["evt.res"] == "SUCCESS"
    assert event["proc.ppid"] == TEST_PID
    assert event["proc.exe"] == "/bin/echo"
    assert event["proc.exepath"] == "/bin/echo"
    assert event["proc.name"] == "echo"
    assert event["proc.args"] == "saker-live-arg second arg"
    assert event["evt.dir"] == "<"


def test_exec_carries_the_programs_inode_and_its_pid_namespace_start(captured):
    """The echo exec: the program's inode number and change / modification times are /bin/echo's (stat), and its
    pid namespace (this host's) started with the namespace's init, pid 1 (from /proc, whose start is read to
    the second of the boot time); pid 1 of a new pid namespace started its own namespace."""
    rows, scenarios, _ = captured
    (echo,) = _events(rows, scenarios.pids["echo"], "execve")
    program = os.stat("/bin/echo")
    assert (echo["proc.exe_ino"], echo["proc.exe_ino.ctime"], echo["proc.exe_ino.mtime"]) == (
        program.st_ino, program.st_ctime_ns, program.st_mtime_ns)
    assert echo["proc.exe_ino.ctime_duration_proc_start"] == echo["proc.pid.ts"] - program.st_ctime_ns
    assert abs(echo["proc.pidns_init_start_ts"] - procfs.thread_info(1).start_ts) < 2_000_000_000
    unshare = scenarios.pids["pidns"]
    (init,) = [r for r in rows if r["evt.type"] == "execve" and r["evt.rawres"] == 0 and r["arg.exe"] == "/bin/true"
               and r["proc.ppid"] == unshare]
    assert abs(init["proc.pidns_init_start_ts"] - init["proc.pid.ts"]) < 50_000_000  # its own start, ~its clone


def test_child_side_clone_links_the_child_to_this_process(captured):
    """Before its exec the child is a copy of this process (clone exit in the child, result 0)."""
    rows, scenarios, _ = captured
    pid = scenarios.pids["echo"]
    clones = [r for r in _events(rows, pid, ("clone", "clone3", "vfork", "fork")) if r["evt.rawres"] == 0]
    assert clones, "no child-side clone exit"
    assert clones[0]["proc.ppid"] == TEST_PID
    assert clones[0]["thread.tid"] == pid


def test_open_openat_creat_resolve_paths_and_flags(captured):
    """openat (absolute and relative to the cwd), open and creat give the file's full path in fd.name; the name
    as passed stays in evt.rawarg.name, and evt.arg.name prints it joined to the cwd as libsinsp does."""
    rows, scenarios, _ = captured
    pid, path = scenarios.pids["open"], scenarios.facts["open_path"]
    opens = [r for r in _events(rows, pid, ("openat", "open")) if r["fd.name"] == path]
    kinds = sorted((r["evt.type"], r["evt.rawarg.name"], r["evt.arg.name"]) for r in opens)
    assert kinds == sorted([("open", path, path), ("openat", "opened.txt", path), ("openat", path, path)])
    created = [r for r in opens if r["evt.rawarg.name"] == path and r["evt.type"] == "openat"][0]
    expected = int(open_flags(np.array([os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC], dtype=np.uint64))[0])
    assert created["evt.rawarg.flags"] in (expected, expected & ~(1 << 12))
    assert all(r["evt.res"] == "SUCCESS" and r["fd.typechar"] == "f" for r in opens)
    creat = _events(rows, pid, "creat")
    assert [r["fd.name"] for r in creat] == [str(Path(path).parent / "created")]
    assert creat[0]["evt.rawarg.flags"] == CREAT_FLAGS


def test_opens_with_a_hundred_distinct_flag_values_are_all_captured(captured):
    """(A batch with more than 64 distinct flag values once made the capture stage fail.)"""
    rows, scenarios, _ = captured
    path = scenarios.facts["flags_path"]
    opens = [r for r in _events(rows, scenarios.pids["flags"], "openat") if r["fd.name"] == path]
    assert len(opens) == 100 and all(r["evt.res"] == "SUCCESS" for r in opens)


def test_connect_to_loopback_listener_has_address_and_port(captured):
    """The connect exit names the loopback listener as remote address and port of the socket."""
    rows, scenarios, _ = captured
    pid, port = scenarios.pids["connect"], scenarios.facts["port"]
    connects = _events(rows, pid, "connect")
    assert len(connects) == 1
    event = connects[0]
    assert event["evt.res"] == "SUCCESS"
    assert (event["fd.rip"], event["fd.rport"], event["fd.lip"]) == ("127.0.0.1", port, "127.0.0.1")
    assert event["fd.name"].endswith(f"->127.0.0.1:{port}")
    assert event["proc.ppid"] == TEST_PID


def test_reads_and_writes_carry_their_fd_size_position_and_data(captured):
    """Each call of the read/write family on a file carries the fd (named by the state engine), the size asked
    (vectored calls: the iovecs' total), the position of positioned calls and the bytes it moved."""
    rows, scenarios, _ = captured
    path = scenarios.facts["io_path"]
    calls = [(r["evt.type"], r["evt.rawres"], r["evt.rawarg.size"], r["evt.rawarg.pos"], r["evt.buffer"])
             for r in _events(rows, scenarios.pids["io"], ("read", "write", "pread", "pwrite", "readv", "writev"))
             if r["fd.name"] == path]
    content = b"helPW sakervec-one|vec-two"
    assert calls == [("write", 11, 11, None, b"hello saker"), ("pwrite", 2, 2, 3, b"PW"),
                     ("writev", 15, 15, None, b"vec-one|vec-two"), ("read", 26, 100, None, content),
                     ("pread", 5, 5, 6, b"saker"), ("readv", 26, 204, None, content),
                     ("write", 200, 200, None, b"y" * 80)]  # the first 80 bytes (the snaplen) of 200
    reads = [r for r in _events(rows, scenarios.pids["io"], "read") if r["fd.name"] == path]
    assert reads[0]["evt.buflen"] == 26 and reads[0]["evt.arg.data"] == content.decode()


def test_a_write_that_fails_keeps_what_it_was_given(captured):
    rows, scenarios, _ = captured
    failed = [r for r in _events(rows, scenarios.pids["io"], "write") if r["evt.buffer"] == b"closed fd"]
    assert [(r["evt.res"], r["evt.rawarg.size"]) for r in failed] == [("EBADF", 9)]


def test_udp_sends_and_receives_carry_data_and_the_peer(captured):
    """sendto/sendmsg name the destination; recvfrom/recvmsg the sender first, as the driver's tuples do."""
    rows, scenarios, _ = captured
    sender, receiver = scenarios.facts["udp_ports"]
    out, back = f"127.0.0.1:{sender}->127.0.0.1:{receiver}", f"127.0.0.1:{receiver}->127.0.0.1:{sender}"
    calls = [(r["evt.type"], r["evt.rawres"], r["evt.rawarg.size"], r["evt.buffer"], r["evt.arg.tuple"])
             for r in _events(rows, scenarios.pids["io"], ("sendto", "recvfrom", "sendmsg", "recvmsg"))]
    assert calls == [("sendto", 12, 12, b"udp-datagram", out), ("recvfrom", 12, 100, b"udp-datagram", out),
                     ("sendmsg", 11, 11, b"msg-a|msg-b", out), ("recvmsg", 11, 100, b"msg-a|msg-b", out)]
    received = [r for r in _events(rows, scenarios.pids["io"], "recvfrom")]
    assert received[0]["fd.name"] == back  # the receiving socket is named after the datagram, its own end first


def test_pipe_and_pipe2_carry_both_fds(captured):
    """Both calls' fds come from the array they fill; a close of one then shows a pipe."""
    rows, scenarios, _ = captured
    pid = scenarios.pids["pipes"]
    read_end, write_end, raw_read, raw_write = scenarios.facts["pipe_fds"]
    made = [(r["evt.type"], r["evt.rawarg.fd1"], r["evt.rawarg.fd2"]) for r in _events(rows, pid, ("pipe", "pipe2"))]
    assert ("pipe2", read_end, write_end) in made and ("pipe", raw_read, raw_write) in made
    closed = [r for r in _events(rows, pid, "close") if r["fd.num"] == read_end]
    assert closed and closed[-1]["fd.typechar"] == "p"


def test_symlink_and_link_carry_both_paths(captured):
    """symlink(at) and link(at) exits carry the target and the new path."""
    rows, scenarios, _ = captured
    pid, facts = scenarios.pids["links"], scenarios.facts
    symlinks = _events(rows, pid, ("symlink", "symlinkat"))
    assert [(r["evt.arg.target"], r["evt.arg.linkpath"], r["evt.res"]) for r in symlinks] == \
        [(facts["target"], facts["symlink"], "SUCCESS")]
    links = _events(rows, pid, ("link", "linkat"))
    assert [(r["evt.arg.oldpath"], r["evt.arg.newpath"], r["evt.res"]) for r in links] == \
        [(facts["target"], facts["hardlink"], "SUCCESS")]


def test_ptrace_traceme(captured):
    """PTRACE_TRACEME is seen with the driver's request code (PPM_PTRACE_TRACEME = 1) and success."""
    rows, scenarios, _ = captured
    traces = _events(rows, scenarios.pids["ptrace"], "ptrace")
    assert [(r["evt.rawarg.request"], r["evt.res"]) for r in traces] == [(1, "SUCCESS")]


def test_memfd_create_then_exec_from_memfd(captured):
    """memfd_create returns an fd; the exec through /proc/self/fd/N keeps pid, parent and the new argv."""
    rows, scenarios, _ = captured
    pid = scenarios.pids["memfd"]
    memfds = _events(rows, pid, "memfd_create")
    assert len(memfds) == 1 and memfds[0]["evt.rawres"] >= 3
    assert memfds[0]["evt.arg.name"] == "saker-memfd"
    fd = memfds[0]["evt.rawres"]
    execs = [r for r in _events(rows, pid, "execve") if r["proc.exe"] == "saker-memfd-true"]
    assert len(execs) == 1
    event = execs[0]
    assert (event["evt.res"], event["proc.args"], event["proc.ppid"]) == ("SUCCESS", "from-memfd", TEST_PID)
    assert event["proc.exepath"] == f"/proc/self/fd/{fd}"
    assert event["proc.is_exe_from_memfd"] is True  # read in the kernel from the new program's file
    others = [r for r in rows if r["evt.type"] == "execve" and r["proc.pid"] != pid and r["evt.res"] == "SUCCESS"]
    assert others and not any(r["proc.is_exe_from_memfd"] for r in others)


def test_setuid_to_nobody(captured):
    """setuid(65534) succeeds and carries the new uid."""
    rows, scenarios, _ = captured
    events = _events(rows, scenarios.pids["setuid"], "setuid")
    assert [(r["evt.rawarg.uid"], r["evt.res"]) for r in events] == [(65534, "SUCCESS")]
    assert events[0]["user.uid"] == 65534  # the state engine applies the new uid from that event on
    after = [r for r in _events(rows, scenarios.pids["setuid"], ("open", "openat")) if r["fd.name"] == "/dev/null"]
    assert [r["user.uid"] for r in after] == [65534]


def test_capability_sets_come_from_the_exec_and_from_capset(captured):
    """The exec's record carries the new program's capability sets (read from its credentials); capset's exit
    carries the sets the call left, and the thread's next events see them. This test runs as root with a full
    effective set, so the parent's sets name CAP_SYS_MODULE and CAP_SYS_ADMIN."""
    rows, scenarios, _ = captured
    ours = procfs.thread_info(TEST_PID)
    assert "CAP_SYS_MODULE" in capabilities.names_of(ours.cap_effective)
    (dropped,) = [r for r in _events(rows, scenarios.pids["caps_exec"], ("execve", "execveat"))
                  if r["proc.exe"] == "/bin/true"]
    effective = dropped["thread.cap_effective"].split()
    assert "CAP_SYS_MODULE" not in effective and "CAP_CHOWN" in effective
    assert "CAP_SYS_MODULE" not in dropped["thread.cap_permitted"].split()
    (capset,) = _events(rows, scenarios.pids["capset"], "capset")
    before = _events(rows, scenarios.pids["capset"], ("execve", "execveat"))[-1]  # the Python child's exec
    assert "CAP_SYS_ADMIN" in before["thread.cap_effective"].split()
    # Exactly CAP_SYS_ADMIN left the effective set; the permitted set did not change.
    assert capset["thread.cap_effective"].split() == [
        name for name in before["thread.cap_effective"].split() if name != "CAP_SYS_ADMIN"]
    assert capset["thread.cap_permitted"] == before["thread.cap_permitted"]
    assert capabilities.names_of(capset["evt.rawarg.cap_effective"]) == capset["thread.cap_effective"]
    after = [r for r in _events(rows, scenarios.pids["capset"], ("open", "openat")) if r["fd.name"] == "/dev/null"]
    assert [r["thread.cap_effective"] for r in after] == [capset["thread.cap_effective"]]


def test_exec_from_an_overlay_upper_layer_is_flagged(captured):
    """A program written into an overlayfs mount runs from its upper layer (PPM_EXE_UPPER_LAYER in the exec's
    flags, proc.is_exe_upper_layer); one from the lower layer is flagged PPM_EXE_LOWER_LAYER; one off overlayfs
    neither."""
    rows, scenarios, _ = captured
    (upper,) = _events(rows, scenarios.pids["upper"], ("execve", "execveat"))
    (lower,) = _events(rows, scenarios.pids["lower"], ("execve", "execveat"))
    (plain,) = _events(rows, scenarios.pids["echo"], ("execve", "execveat"))
    assert (upper["proc.is_exe_upper_layer"], upper["evt.rawarg.flags"] & 0b1010) == (True, 1 << 1)
    assert (lower["proc.is_exe_upper_layer"], lower["evt.rawarg.flags"] & 0b1010) == (False, 1 << 3)
    assert (plain["proc.is_exe_upper_layer"], plain["evt.rawarg.flags"] & 0b1010) == (False, 0)
    # As Falco's stable rules print them (exe_flags=%evt.arg.flags): the flags' names.
    assert (upper["evt.arg.flags"], lower["evt.arg.flags"]) == ("EXE_UPPER_LAYER", "EXE_LOWER_LAYER")


def test_chdir_moves_the_cwd(captured):
    """A process started in a folder (chdir before exec) has that cwd, and relative paths resolve there."""
    rows, scenarios, _ = captured
    opens = [r for r in _events(rows, scenarios.pids["open"], "openat") if r["evt.rawarg.name"] == "opened.txt"]
    assert [r["proc.cwd"] for r in opens] == [str(scenarios.tmp)]


def _exec_of(rows, pid, exe):
    """The successful execve exits of `pid` running `exe` (argv[0])."""
    return [r for r in rows if r["thread.tid"] == pid and r["evt.type"] == "execve" and r["evt.rawres"] == 0
            and r["arg.exe"] == exe]


def test_new_pid_namespace_has_vpid_1(captured):
    """pid 1 of a new pid namespace: its clone exit (child side) and its exec of /bin/true carry vtid = vpid =
    1 while tid and pid are the host's, and the state engine gives proc.vpid and thread.vtid 1."""
    rows, scenarios, _ = captured
    unshare = scenarios.pids["pidns"]
    execs = [r for r in rows if r["evt.type"] == "execve" and r["evt.rawres"] == 0 and r["arg.exe"] == "/bin/true"
             and r["proc.ppid"] == unshare]
    assert len(execs) == 1
    event = execs[0]
    assert event["thread.tid"] == event["proc.pid"] not in (1, unshare)
    assert (event["arg.vtid"], event["arg.vpid"], event["thread.vtid"], event["proc.vpid"]) == (1, 1, 1, 1)
    child_clones = [r for r in _events(rows, event["proc.pid"], ("clone", "clone3", "fork", "vfork"))
                    if r["evt.rawres"] == 0]
    assert [(r["arg.vtid"], r["arg.vpid"]) for r in child_clones] == [(1, 1)]
    outside = _exec_of(rows, unshare, "/usr/bin/unshare")
    assert [(r["arg.vtid"], r["arg.vpid"]) for r in outside] == [(unshare, unshare)]


def test_new_pty_gives_the_tty_of_proc_stat(captured):
    """cat, exec'd as the leader of a session whose controlling terminal is a new pty, has the tty /proc's
    tty_nr gives (as kernel.procfs reads it for the processes alive at start), not 0."""
    rows, scenarios, _ = captured
    execs = _exec_of(rows, scenarios.pids["tty"], "/bin/cat")
    assert len(execs) == 1
    expected = scenarios.facts["proc_tty"]
    assert expected != 0
    assert (execs[0]["arg.tty"], execs[0]["proc.tty"]) == (expected, expected)
    setsid = _exec_of(rows, scenarios.pids["tty"], "/usr/bin/setsid")
    assert [r["arg.tty"] for r in setsid] == [0]  # before setsid --ctty: no controlling terminal


def test_fresh_cgroups_give_cgroups_and_container_id(captured):
    """A process moved into new cgroups then exec'd has them in arg.cgroups (read in the kernel: it was gone
    when its batch was built), and the Docker-like path gives container.id, end to end through the state."""
    rows, scenarios, _ = captured
    facts = scenarios.facts
    execs = _exec_of(rows, scenarios.pids["cgroups"], "/bin/true")
    assert len(execs) == 1
    cgroups = execs[0]["arg.cgroups"]
    assert f"pids={facts['pids_cgroup']}" in cgroups and f"cpu={facts['cpu_cgroup']}" in cgroups
    assert execs[0]["container.id"] == facts["container"][:12]
    before = _exec_of(rows, scenarios.pids["cgroups"], sys.executable)
    assert [r["container.id"] for r in before] == ["host"]


def test_cwd_is_read_at_exec(captured):
    """`cd DIR && exec /bin/true`: the exec carries DIR as cwd although /bin/true was gone before the batch."""
    rows, scenarios, _ = captured
    execs = _exec_of(rows, scenarios.pids["cwd"], "/bin/true")
    assert [(r["arg.cwd"], r["proc.cwd"]) for r in execs] == [(scenarios.facts["cwd"], scenarios.facts["cwd"])]


def test_own_process_is_not_traced_and_numbers_count_from_one(captured):
    """Nothing from the capturing process itself; evt.num is 1, 2, 3... over the stream."""
    rows, _, capture = captured
    assert not [r for r in rows if r["proc.pid"] == TEST_PID]
    nums = [r["evt.num"] for r in rows]
    assert nums == sorted(nums) and nums[0] >= 1
    assert capture.events_read >= len(rows)


def _bpf_fds() -> list[str]:
    out = []
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("anon_inode:bpf") or target == "anon_inode:[perf_event]":
            out.append(target)
    return out


def test_probes_are_gone_after_the_capture(captured):
    """After the generator ends no BPF program, map or tracepoint link of ours is left in this process."""
    _, _, capture = captured
    assert capture.probes is None
    assert _bpf_fds() == []


def test_stop_before_any_event_cleans_up():
    """A capture stopped at once still loads, yields at most one batch and unloads everything."""
    capture = LiveCapture(_config(1 << 20), rule_event_types={"openat"})
    control = SimpleNamespace(stop=threading.Event())
    control.stop.set()
    batches = list(capture.batches(control))
    assert len(batches) <= 1
    assert _bpf_fds() == []


def test_needed_syscalls_follows_rules_and_base_set():
    """Rules' event types plus the state base set; `!name` excludes; unknown names are ignored."""
    base = SimpleNamespace(custom_set=[], repair=False, all=False)
    chosen = needed_syscalls({"ptrace", "no_such_call"}, base)
    assert "ptrace" in chosen and "execve" in chosen and "close" in chosen and "no_such_call" not in chosen
    assert "setuid" in chosen and "kill" not in chosen  # the user of a thread is state; kill is not
    custom = SimpleNamespace(custom_set=["kill", "!close"], repair=False, all=False)
    assert needed_syscalls({"openat"}, custom) == frozenset({"openat", "kill"})
    assert "kill" in needed_syscalls(None, None)
