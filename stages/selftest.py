"""`run.py --self-test`: start the live sensor, do one harmless thing per default rule, report which fired.

The sensor runs as a subprocess of run.py (the given config and its rules, JSON alerts on a pipe, webserver
on a free loopback port so that /healthz says when capture runs). Every action works on a temporary folder
made for the test, talks to loopback only and cleans up; writes "below /etc" and the like happen on a
private tmpfs mounted over the folder in a private mount namespace, so the real folder is never touched.
Rules that only look at containers run their action inside a stand-in container: a helper process started
once the sensor runs, placed before its exec (as runc does) in a cgroup named the way Docker names its
containers (`docker/<64 hex>`), so the sensor must recognise a container that appears while it watches.

An action that cannot run on this machine raises NotTestable with the reason found by a real check (no
tracepoint for init_module, /dev/shm mounted noexec, no cgroup to make...).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYTHON = os.path.realpath(sys.executable)  # the real interpreter: copies named httpd/sha1sum run it directly
STARTUP_TIMEOUT = 60.0
ALERT_TIMEOUT = 15.0
TRACEFS_ROOTS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
MINING_PORTS = (3333, 3334, 3357, 4444, 5555, 5588, 6666, 7777, 14433, 14444, 45560, 45700)
NOT_TESTABLE_EXIT = 3  # an action's child exits with this when the kernel refuses what it needs

# Code run by child interpreters (stdlib only). A failing prerequisite exits NOT_TESTABLE_EXIT with the errno.
PRIVATE_WRITE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
target, path = sys.argv[1], sys.argv[2]
def need(ok, what):
    if not ok:
        print(what + ': ' + os.strerror(ctypes.get_errno()), file=sys.stderr)
        sys.exit(3)
need(libc.unshare(0x00020000) == 0, 'unshare(CLONE_NEWNS)')
need(libc.mount(b'none', b'/', None, 16384 | (1 << 18), None) == 0, 'mount --make-rprivate /')
need(libc.mount(b'saker-selftest', target.encode(), b'tmpfs', 0, None) == 0, 'mount tmpfs on ' + target)
if path:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, 'w').close()
"""
PTRACE_ATTACH = """
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
child = subprocess.Popen(['sleep', '30'])
try:
    if libc.ptrace(16, child.pid, None, None) != 0:
        print('ptrace(PTRACE_ATTACH): ' + os.strerror(ctypes.get_errno()), file=sys.stderr)
        sys.exit(3)
    os.waitpid(child.pid, 0)
    libc.ptrace(17, child.pid, None, None)
finally:
    child.kill()
    child.wait()
"""
MEMFD_EXEC = """
import os, sys
fd = os.memfd_create('saker-selftest', 0)
with open('/bin/true', 'rb') as source:
    os.write(fd, source.read())
os.execve(fd, ['saker-selftest-memfd'], {})
"""
REDIRECT_STDIO = """
import os, socket, sys
sock = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
os.dup2(sock.fileno(), 0)
os.dup2(sock.fileno(), 1)
"""
CONNECT = "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1]))).close()"
CONTAINER_AGENT = """
import json, subprocess, sys
for line in sys.stdin:
    result = subprocess.run(json.loads(line), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    print(json.dumps([result.returncode, result.stderr[-500:]]), flush=True)
"""


class NotTestable(Exception):
    """The action cannot run on this machine; the message says why (found by a check, never assumed)."""


@dataclass
class Outcome:
    rule: str
    status: str  # fired | missed | not testable
    detail: str = ""


class Listener:
    """A loopback TCP server that accepts and drops connections, so that connects succeed."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        self.sock.close()


class StandInContainer:
    """A helper process in a Docker-style cgroup; commands it runs are 'in a container' for the sensor."""

    def __init__(self) -> None:
        self.container_id = secrets.token_hex(32)
        self.cgroup, self.created_parent = self._make_cgroup()
        procs = self.cgroup / "cgroup.procs"
        self.proc = subprocess.Popen([PYTHON, "-c", CONTAINER_AGENT], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1,
                                     preexec_fn=lambda: procs.write_text(str(os.getpid())))

    def _make_cgroup(self) -> tuple[Path, Path | None]:
        errors = []
        for root in _cgroup_roots():
            parent = root / "docker"
            created = None if parent.exists() else parent
            try:
                parent.mkdir(exist_ok=True)
                leaf = parent / self.container_id
                leaf.mkdir()
                return leaf, created
            except OSError as exc:
                errors.append(f"{root}: {exc.strerror}")
        raise NotTestable("no cgroup hierarchy to place a stand-in container in (" + "; ".join(errors or
                          ["no cgroup file system mounted"]) + ")")

    def run(self, argv: list[str]) -> tuple[int, str]:
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        return tuple(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        for path in (self.cgroup, self.created_parent):
            if path is not None:
                try:
                    path.rmdir()
                except OSError:
                    pass


def _cgroup_roots() -> list[Path]:
    """Writable cgroup mounts: the v1 pids hierarchy first (any task may move there), then the others."""
    roots: list[Path] = []
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            fields = line.split()
            kind = fields[fields.index("-") + 1]
            if kind in ("cgroup", "cgroup2"):
                roots.append(Path(fields[4]))
    return sorted(roots, key=lambda p: (p.name != "pids", str(p)))


@dataclass
class Workspace:
    """What actions share: a temp folder, a loopback listener, the stand-in container (or why there is none)."""

    tmp: Path
    listener: Listener
    container: StandInContainer | None = None
    container_problem: str = ""
    background: list[subprocess.Popen] = field(default_factory=list)

    def path(self, name: str) -> str:
        return str(self.tmp / name)

    def alias(self, name: str) -> str:
        """A symlink to the Python interpreter under another name: the process's name (comm) is `name`."""
        link = self.tmp / name
        if not link.exists():
            link.symlink_to(PYTHON)
        return str(link)

    def in_container(self, argv: list[str]) -> None:
        if self.container is None:
            raise NotTestable(self.container_problem)
        code, err = self.container.run(argv)
        _check_exit(code, err, argv)


def _run(argv: list[str], **kwargs) -> None:
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=20, **kwargs)
    _check_exit(result.returncode, result.stderr, argv)


def _check_exit(code: int, err: str, argv: list[str]) -> None:
    if code == NOT_TESTABLE_EXIT:
        raise NotTestable(err.strip().splitlines()[-1] if err.strip() else f"{argv[0]} refused")
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code}: {err.strip()[-300:]}")


def _python(code: str, *args: str, **kwargs) -> None:
    _run([PYTHON, "-c", code, *args], **kwargs)


def _private_write(ws: Workspace, candidates: Iterable[str], name: str) -> None:
    """Write `<dir>/<name>` on a tmpfs mounted over `dir` in a private mount namespace (the real dir is untouched)."""
    directory = next((d for d in candidates if os.path.isdir(d)), None)
    if directory is None:
        raise NotTestable(f"none of {', '.join(candidates)} exists")
    _python(PRIVATE_WRITE, directory, os.path.join(directory, name))


def _needs(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise NotTestable(f"{program} is not installed")
    return path


# ---- one action per rule --------------------------------------------------------------------------------------

def traversal_read(ws: Workspace) -> None:
    # A relative climb: `evt.arg.name` prints it joined to the cwd (/etc/passwd), the path as given keeps "../".
    _python("import os; os.chdir('/usr'); open('../etc/../etc/passwd').close()")


def server_reads_credentials_late(ws: Workspace) -> None:
    if not os.path.exists("/etc/shadow"):
        raise NotTestable("/etc/shadow does not exist")
    code = "import time; time.sleep(5.5); open('/etc/shadow').close()"
    ws.background.append(subprocess.Popen([ws.alias("httpd"), "-c", code]))


def credential_read(ws: Workspace) -> None:
    if not os.path.exists("/etc/shadow"):
        raise NotTestable("/etc/shadow does not exist")
    _python("open('/etc/shadow').close()")


def sensitive_symlink(ws: Workspace) -> None:
    # The link may be left from a first try (a miss is tried again): replace it.
    _python("import os, sys; os.path.lexists(sys.argv[1]) and os.unlink(sys.argv[1]); os.symlink('/etc', sys.argv[1])",
            ws.path("etc_link"))


def truncate_log(ws: Workspace) -> None:
    _python("import sys; open(sys.argv[1], 'w').close()", ws.path("syslog"))


def write_cron(ws: Workspace) -> None:
    _private_write(ws, ["/etc"], "cron.d/saker-selftest")


def write_shell_config(ws: Workspace) -> None:
    _python("import sys; open(sys.argv[1], 'w').close()", ws.path(".bashrc"))


def write_etc(ws: Workspace) -> None:
    _private_write(ws, ["/etc"], "saker-selftest")


def write_system_dir(ws: Workspace) -> None:
    _private_write(ws, ["/usr/local/sbin", "/usr/local/bin", "/boot"], "saker-selftest")


def write_root_home(ws: Workspace) -> None:
    _private_write(ws, ["/root"], "saker-selftest")


def set_setuid(ws: Workspace) -> None:
    target = ws.path("setuid-file")
    Path(target).write_text("")
    _python("import os, sys; os.chmod(sys.argv[1], 0o4755)", target)


def server_spawns_shell(ws: Workspace) -> None:
    _run([ws.alias("httpd"), "-c", "import subprocess; subprocess.run(['/bin/sh', '-c', 'true'], check=True)"])


def system_account_shell(ws: Workspace) -> None:
    import pwd

    try:
        account = pwd.getpwnam("daemon")
    except KeyError:
        raise NotTestable("no 'daemon' account") from None
    # A service running as daemon starts the shell (the shell is the service's child, as in a takeover).
    _run([PYTHON, "-c", "import subprocess; subprocess.run(['/bin/sh', '-c', 'true'], check=True)"], cwd="/",
         preexec_fn=lambda: (os.setgid(account.pw_gid), os.setuid(account.pw_uid)))


def bulk_removal(ws: Workspace) -> None:
    victim = ws.path("victim")
    Path(victim).write_text("x" * 4096)
    _run([_needs("shred"), "-u", victim])


def search_private_keys(ws: Workspace) -> None:
    _run([_needs("find"), str(ws.tmp), "-maxdepth", "1", "-name", "id_rsa"])


def search_cloud_credentials(ws: Workspace) -> None:
    _run([_needs("find"), str(ws.tmp), "-maxdepth", "1", "-iname", ".aws/credentials"])


def run_from_dev_shm(ws: Workspace) -> None:
    if not os.path.isdir("/dev/shm"):
        raise NotTestable("/dev/shm does not exist")
    folder = tempfile.mkdtemp(prefix="saker-selftest-", dir="/dev/shm")
    try:
        program = os.path.join(folder, "true")
        shutil.copy("/bin/true", program)
        os.chmod(program, 0o755)
        try:
            subprocess.run([program], check=True, timeout=10)
        except PermissionError as exc:
            raise NotTestable(f"/dev/shm does not allow execution ({exc.strerror})") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def memfd_exec(ws: Workspace) -> None:
    if not hasattr(os, "memfd_create"):
        raise NotTestable("no memfd_create on this platform")
    _python(MEMFD_EXEC)


def ptrace_attach(ws: Workspace) -> None:
    _python(PTRACE_ATTACH)


def ptrace_traceme(ws: Workspace) -> None:
    _python("import ctypes; ctypes.CDLL(None).ptrace(0, 0, None, None)")


def change_namespace(ws: Workspace) -> None:
    _python("import ctypes, sys; sys.exit(3 if ctypes.CDLL(None).unshare(0x04000000) else 0)")  # CLONE_NEWUTS


def load_kernel_module(ws: Workspace) -> None:
    names = ("finit_module", "init_module")
    present = [n for n in names for root in TRACEFS_ROOTS if (root / "events/syscalls" / f"sys_exit_{n}").is_dir()]
    if not present:
        raise NotTestable(f"kernel {os.uname().release} has no init_module/finit_module syscall tracepoint")
    if not os.path.exists("/proc/modules"):
        raise NotTestable("kernel built without module support (/proc/modules missing)")
    # finit_module(-1, "", 0): refused with EBADF, nothing is loaded; the attempt is what the rule reports.
    _python("import ctypes; ctypes.CDLL(None).syscall(313, -1, b'', 0)")


def packet_socket(ws: Workspace) -> None:
    _python("import socket\ntry:\n    socket.socket(17, 3, 0).close()\nexcept OSError:\n    pass")


def redirect_stdio(ws: Workspace) -> None:
    _python(REDIRECT_STDIO, str(ws.listener.port))


def system_binary_connects(ws: Workspace) -> None:
    _run([ws.alias("sha1sum"), "-c", CONNECT, str(ws.listener.port)])


def mining_port_connect(ws: Workspace) -> None:
    for port in MINING_PORTS:
        try:
            listener = Listener(port)
        except OSError:
            continue
        try:
            _python(CONNECT, str(port))
        finally:
            listener.close()
        return
    raise NotTestable(f"every mining pool port is in use on 127.0.0.1 ({', '.join(map(str, MINING_PORTS))})")


def release_agent_in_container(ws: Workspace) -> None:
    ws.in_container([PYTHON, "-c", "import sys; open(sys.argv[1], 'w').close()", ws.path("release_agent")])


def mount_in_container(ws: Workspace) -> None:
    target = ws.tmp / "mnt"
    target.mkdir(exist_ok=True)
    ws.in_container([PYTHON, "-c", PRIVATE_WRITE, str(target), ""])


def new_program_in_container(ws: Workspace) -> None:
    program = ws.path("dropped-true")
    shutil.copy("/bin/true", program)
    os.chmod(program, 0o755)
    ws.in_container([program])


ACTIONS: dict[str, Callable[[Workspace], None]] = {
    "Credential file read by a server after startup": server_reads_credentials_late,  # first: it waits 5.5 s
    "Credential file read through a path traversal": traversal_read,
    "Credential file read by an unexpected program": credential_read,
    "Link created to a sensitive file": sensitive_symlink,
    "Log file truncated": truncate_log,
    "Scheduled task changed": write_cron,
    "Shell configuration changed": write_shell_config,
    "Write below /etc": write_etc,
    "Write below a system directory": write_system_dir,
    "Write below /root": write_root_home,
    "Setuid or setgid bit set on a file": set_setuid,
    "Shell started by a server program": server_spawns_shell,
    "System account started a shell": system_account_shell,
    "Bulk data removal": bulk_removal,
    "Search for private keys": search_private_keys,
    "Search for cloud credentials": search_cloud_credentials,
    "Program run from shared memory": run_from_dev_shm,
    "Fileless program run from memory": memfd_exec,
    "Process attached to another with ptrace": ptrace_attach,
    "Program asked to be traced by its parent": ptrace_traceme,
    "Namespace changed": change_namespace,
    "Kernel module loaded": load_kernel_module,
    "Raw packet socket opened": packet_socket,
    "Standard input or output redirected to a network socket": redirect_stdio,
    "System binary made a network connection": system_binary_connects,
    "Connection to a crypto-mining pool port": mining_port_connect,
    "Cgroup release_agent written in a container": release_agent_in_container,
    "Mount in a container": mount_in_container,
    "New program run in a container": new_program_in_container,
}


# ---- the sensor under test ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SensorProcess:
    """run.py as a subprocess on live capture; alerts (JSON lines on its stdout) collected by a thread."""

    def __init__(self, config: str, extra_args: Iterable[str] = ()) -> None:
        self.port = free_port()
        self.alerts: list[dict] = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "run.py"), "-c", config, "-o", "json_output=true",
             "-o", "stdout_output.enabled=true", "-o", "file_output.enabled=false", "-o", "webserver.enabled=true",
             "-o", "webserver.listen_address=127.0.0.1", "-o", f"webserver.listen_port={self.port}",
             "-o", "log_level=warning", *extra_args],
            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stderr_tail: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("{"):
                try:
                    alert = json.loads(line)
                except ValueError:
                    continue
                with self.lock:
                    self.alerts.append(alert)

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr_tail = (self.stderr_tail + [line])[-20:]

    def wait_running(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sensor exited with status %s:\n%s" % (self.proc.returncode,
                                                                          "".join(self.stderr_tail)))
            if _healthz(self.port) == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"sensor capture not running within {timeout:.0f} s")

    def fired(self) -> set[str]:
        with self.lock:
            return {a.get("rule", "") for a in self.alerts}

    def wait_for(self, rules: set[str], timeout: float) -> set[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not rules <= self.fired():
            time.sleep(0.1)
        return self.fired()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0


# ---- running it all -----------------------------------------------------------------------------------------

def run_actions(config: str, actions: dict[str, Callable[[Workspace], None]], extra_args: Iterable[str] = (),
                timeout: float = ALERT_TIMEOUT) -> list[Outcome]:
    """Start the sensor, run each action, wait for each expected rule; the sensor is always stopped."""
    tmp = Path(tempfile.mkdtemp(prefix="saker-selftest-"))
    os.chmod(tmp, 0o755)  # the system-account action runs as another user
    ws = Workspace(tmp=tmp, listener=Listener())
    sensor = None
    try:
        sensor = SensorProcess(config, extra_args)
        sensor.wait_running()
        try:  # started under the running sensor, as a real container would be: its exec names its cgroup
            ws.container = StandInContainer()
        except NotTestable as exc:
            ws.container_problem = str(exc)
        outcomes = {rule: _attempt(rule, action, ws) for rule, action in actions.items()}
        for proc in ws.background:
            proc.wait(timeout=30)
        expected = {rule for rule, o in outcomes.items() if o is None}
        fired = sensor.wait_for(expected, timeout)
        # A busy machine can delay an action past its window (the late credential read waits 5.5 s): one more
        # try for what did not fire, so a miss means the rule really did not fire twice.
        for rule in sorted(expected - fired):
            retry = _attempt(rule, actions[rule], ws)
            if retry is not None:
                outcomes[rule] = retry
        for proc in ws.background:
            proc.wait(timeout=30)
        fired = sensor.wait_for(expected, timeout) if expected - fired else fired
        return [outcomes[rule] or Outcome(rule, "fired" if rule in fired else "missed") for rule in actions]
    finally:
        for proc in ws.background:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if sensor is not None:
            sensor.stop()
        if ws.container is not None:
            ws.container.close()
        ws.listener.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _attempt(rule: str, action: Callable[[Workspace], None], ws: Workspace) -> Outcome | None:
    try:
        action(ws)
    except NotTestable as exc:
        return Outcome(rule, "not testable", str(exc))
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return Outcome(rule, "missed", f"action failed: {exc}")
    return None


def print_table(outcomes: list[Outcome], stream=sys.stdout) -> None:
    """A rich table on a terminal, plain aligned text otherwise."""
    if stream.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Saker self-test: default rules")
        table.add_column("rule")
        table.add_column("result")
        styles = {"fired": "green", "missed": "bold red", "not testable": "yellow"}
        for o in outcomes:
            text = o.status + (f": {o.detail}" if o.detail else "")
            table.add_row(o.rule, f"[{styles[o.status]}]{text}[/]")
        Console(file=stream).print(table)
    else:
        width = max(len(o.rule) for o in outcomes)
        for o in outcomes:
            print(f"{o.rule:<{width}}  {o.status}" + (f": {o.detail}" if o.detail else ""), file=stream)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("fired", "missed", "not testable")}
    print(f"{counts['fired']} fired, {counts['missed']} missed, {counts['not testable']} not testable",
          file=stream)


def self_test(config: str, rule_names: list[str]) -> int:
    """`--self-test`: 0 only if every loaded rule fired (or cannot be tested here, with the reason)."""
    if os.geteuid() != 0:
        print("saker: --self-test needs root (live capture)", file=sys.stderr)
        return 1
    try:
        outcomes = run_actions(config, {name: ACTIONS[name] for name in rule_names if name in ACTIONS})
    except RuntimeError as exc:
        print(f"saker: self-test: {exc}", file=sys.stderr)
        return 1
    outcomes += [Outcome(name, "missed", "no self-test action for this rule") for name in rule_names
                 if name not in ACTIONS]
    print_table(outcomes)
    return 0 if all(o.status != "missed" for o in outcomes) else 1
