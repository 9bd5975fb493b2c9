"""The live sensor end to end, as root: run.py captures this host's syscalls and alerts at once."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT, STABLE_RULES, Output, free_port, wait_for

pytestmark = pytest.mark.root

if os.geteuid() != 0:
    pytest.skip("live capture needs root", allow_module_level=True)

RULES = """
- rule: Marker command run
  desc: test rule, fires on a command line carrying the test's marker
  condition: evt.type in (execve, execveat) and proc.args contains "{marker}"
  output: "marker command %proc.cmdline (parent=%proc.pname user=%user.name pid=%proc.pid)"
  priority: NOTICE
  tags: [test]
"""


def healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status
    except (urllib.error.URLError, ConnectionError, OSError) as err:
        return getattr(err, "code", 0) or 0


class Sensor:
    """run.py on the live engine, with a test rule that fires on a marker in a command line."""

    def __init__(self, tmp_path: Path, *extra: str, rules_text: str = RULES, hosts: Path | None = None) -> None:
        """`hosts`: a file the sensor sees as /etc/hosts (bound over it in a mount namespace of its own, so the
        host's file is never changed)."""
        self.marker = f"saker-e2e-{uuid.uuid4().hex[:12]}"
        rules = tmp_path / "rules.yaml"
        rules.write_text(rules_text.format(marker=self.marker))
        self.port = free_port()
        command = [sys.executable, str(ROOT / "run.py"), "-r", str(rules), "-o", "json_output=true",
                   "-o", "file_output.enabled=false", "-o", f"webserver.listen_port={self.port}",
                   "-o", "pipeline.workers=2", "-o", "log_level=info", *extra]
        if hosts is not None:  # unshare and sh exec in turn: the sensor keeps the pid Popen started
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                       'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts), *command]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.output = Output(self.proc)
        wait_for(lambda: healthz(self.port) == 200 or self.proc.poll() is not None, 60, "capture running")
        assert self.proc.poll() is None, self.output.stderr()

    def read_alert(self, timeout: float) -> dict | None:
        line = self.output.next_line(timeout)
        return json.loads(line) if line and line.startswith("{") else None

    def stop(self) -> tuple[str, str]:
        return self.output.stop()


def test_alert_within_a_second_and_nothing_lost_on_sigterm(tmp_path: Path) -> None:
    """A command runs; its alert is on stdout within 1 s; SIGTERM delivers every alert produced, exit 0."""
    sensor = Sensor(tmp_path)
    try:
        started = time.monotonic()
        subprocess.run(["/bin/echo", sensor.marker], check=True, stdout=subprocess.DEVNULL)
        alert = sensor.read_alert(timeout=5)
        elapsed = time.monotonic() - started
        assert alert is not None, "no alert"
        assert elapsed < 1.0, f"alert after {elapsed:.2f} s"
        assert alert["rule"] == "Marker command run"
        assert alert["output_fields"]["proc.cmdline"] == f"echo {sensor.marker}"
        assert alert["output_fields"]["user.name"] == "root"
        assert alert["output_fields"]["proc.pname"].startswith("python")  # the test's Python started it
        for _ in range(20):
            subprocess.run(["/bin/true", sensor.marker], check=True)
    finally:
        stdout, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr[-3000:]
    written = 1 + len([line for line in stdout.splitlines() if line.startswith("{")])
    final = [json.loads(line) for line in stderr.splitlines() if '"sensor stopped"' in line][-1]
    assert final["alerts"] == final["alerts_out"] == written == 21


def test_sensor_does_not_watch_itself(tmp_path: Path) -> None:
    """The sensor's own processes are filtered out in the kernel: a rule on them never fires."""
    sensor = Sensor(tmp_path, "-o", "rule_matching=all")
    try:
        # The sensor's capture, workers and output read files and sockets all the time; none of that may
        # come back as events. A marker command proves the capture runs meanwhile.
        subprocess.run(["/bin/true", sensor.marker], check=True)
        assert sensor.read_alert(timeout=5) is not None
    finally:
        stdout, stderr = sensor.stop()
    final = [json.loads(line) for line in stderr.splitlines() if '"sensor stopped"' in line][-1]
    assert final["alerts_out"] == 1


def test_changed_rules_file_is_reloaded(tmp_path: Path) -> None:
    """With watch_config_files, editing the rules file swaps the rules in without a restart."""
    sensor = Sensor(tmp_path, "-o", "watch_config_files=true")
    try:
        subprocess.run(["/bin/true", sensor.marker], check=True)
        assert sensor.read_alert(timeout=5)["rule"] == "Marker command run"
        rules = tmp_path / "rules.yaml"
        rules.write_text(RULES.format(marker=sensor.marker).replace("Marker command run", "Marker command v2"))
        deadline = time.monotonic() + 30
        seen = set()
        while "Marker command v2" not in seen and time.monotonic() < deadline:
            subprocess.run(["/bin/true", sensor.marker], check=True)
            alert = sensor.read_alert(timeout=1)
            if alert is not None:
                seen.add(alert["rule"])
        assert "Marker command v2" in seen
    finally:
        _, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr[-2000:]
    assert '"reason": "a config or rules file changed"' in stderr


CONNECT_RULE = RULES + """
- rule: Marker connect
  desc: test rule, fires on a connect by a process whose command line carries the test's marker
  condition: evt.type = connect and evt.dir = < and proc.args contains "{marker}"
  output: "marker connect %fd.name"
  priority: NOTICE
  tags: [test]
"""
# Makes a socket, connects it when told, then waits to be told to exit (its exit closes fds: another fd change).
CLIENT = ("import socket, sys; s = socket.socket(); print('made', flush=True); sys.stdin.readline(); "
          "s.connect(('127.0.0.1', int(sys.argv[1]))); sys.stdin.readline()")


def test_connect_of_a_socket_made_in_an_earlier_batch(tmp_path: Path) -> None:
    """A socket made, then connected once its batch is through: the connect can be its batch's only fd change
    (this stopped the capture stage once). The sensor names the socket and keeps running."""
    sensor = Sensor(tmp_path, rules_text=CONNECT_RULE)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(port), sensor.marker], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().strip() == "made"
        subprocess.run(["/bin/true", sensor.marker], check=True)  # its alert: the socket's batch is through
        assert _alert_of(sensor, lambda alert: alert["output_fields"]["proc.cmdline"].startswith("true "))
        client.stdin.write("\n")
        client.stdin.flush()
        alert = _alert_of(sensor, lambda alert: alert["rule"] == "Marker connect")
        assert alert["output_fields"]["fd.name"].endswith(f"->127.0.0.1:{port}")
        assert healthz(sensor.port) == 200
        client.stdin.write("\n")
        client.stdin.flush()
        assert client.wait(timeout=10) == 0
    finally:
        client.kill()
        listener.close()
        _, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr[-3000:]


def _alert_of(sensor: Sensor, wanted, seconds: float = 5) -> dict:
    """The next alert `wanted` accepts (others, e.g. the client's own exec, are skipped); fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alert = sensor.read_alert(timeout=max(deadline - time.monotonic(), 0.01))
        if alert is not None and wanted(alert):
            return alert
    raise AssertionError(f"no such alert within {seconds} s")


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    return {name: float(value) for name, value in (line.split(" ", 1) for line in lines
                                                    if line.startswith("saker_state_"))}


def test_state_table_sizes_and_prunes_are_in_the_metrics(tmp_path: Path) -> None:
    """/metrics shows the state engine's tables: threads and fds held, and the processes whose fds left with
    their exit. A shell that forks children holding a file open: each child's fd table goes when it ends."""
    sensor = Sensor(tmp_path)
    try:
        wait_for(lambda: _metrics(sensor.port).get("saker_state_threads", 0) > 0, 10, "threads in the state")
        before = _metrics(sensor.port)["saker_state_processes_ended_total"]
        subprocess.run(["/bin/sh", "-c", "exec 3</etc/hostname; for i in 1 2 3 4 5; do /bin/true; done"],
                       check=True)
        wait_for(lambda: _metrics(sensor.port)["saker_state_processes_ended_total"] >= before + 6, 10,
                 "the shell and its five children ended")
        metrics = _metrics(sensor.port)
        assert metrics["saker_state_fds"] > 0
        assert {"saker_state_threads_pruned_exited_total", "saker_state_fds_pruned_cap_total",
                "saker_state_containers", "saker_state_containers_dropped_total"} <= set(metrics)
    finally:
        _, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr[-3000:]


CONTAINER_RULE = """
- rule: Marker command in a container
  desc: test rule, fires on a command carrying the test's marker inside a container
  condition: evt.type in (execve, execveat) and proc.args contains "{marker}" and container.id != host
  output: "in container %container.id name=%container.name image=%container.image.repository pod=%k8s.pod.name
    ns=%container.label[io.kubernetes.pod.namespace]"
  priority: NOTICE
"""


@pytest.mark.parametrize("runtime", ["docker", "cri-o", "containerd"])
def test_a_new_container_is_named_from_its_runtime(tmp_path: Path, runtime: str) -> None:
    """A process moved into a container-like cgroup runs commands: the sensor derives the container id from its
    cgroups, asks the runtime's socket (a real server on a unix socket here: the Docker Engine API, cri-o's info
    API, or containerd's CRI over gRPC) in the background, and from its answer on the container's alerts carry
    its name, image, pod and labels (the first ones may not yet, as with Falco's container plugin). The Arrow
    capture of the run replays to the same alerts."""
    from tests.cgroups import new_cgroup, remove_cgroups
    from tests.cri_api import CriApi, status_response
    from tests.docker_api import DockerApi, crio_document, inspect_document

    full_id = secrets.token_hex(32)
    labels = {"io.kubernetes.pod.name": "web-7d9f", "io.kubernetes.pod.namespace": "shop",
              "io.kubernetes.container.name": "web"}
    crio, cri = runtime == "cri-o", runtime == "containerd"
    image = "registry.local:5000/web:1.2"
    if cri:
        server = CriApi(tmp_path / "runtime.sock", {full_id: status_response(full_id, "web", image, labels, "{}")})
    else:
        document = (crio_document if crio else inspect_document)(full_id, "web" if crio else "shop_web_1", image,
                                                                  labels)
        server = DockerApi(tmp_path / "runtime.sock", [document], crio=crio)
    engine = {"cri-o": "cri_o"}.get(runtime, runtime)
    cgroup_name = {"docker": f"docker/{full_id}", "cri-o": f"crio-{full_id}.scope",
                   "containerd": f"cri-containerd-{full_id}.scope"}[runtime]
    created: list[Path] = []
    capture = tmp_path / "capture"
    with server as api:
        sensor = Sensor(tmp_path, *_only_runtime(engine, api.socket_path),
                        "--capture", str(capture), rules_text=CONTAINER_RULE)
        try:
            cgroup = new_cgroup("pids", cgroup_name, created)
            with _repeated_in_cgroup(cgroup, ["/bin/echo", sensor.marker], tmp_path / "stop"):
                alert = _alert_of(sensor, lambda a: a["output_fields"]["container.name"] is not None, seconds=15)
            fields = alert["output_fields"]
            assert fields["container.id"] == full_id[:12]
            assert (fields["container.name"], fields["container.image.repository"], fields["k8s.pod.name"]) == (
                "shop_web_1" if runtime == "docker" else "web", "registry.local:5000/web", "web-7d9f")
            assert fields["container.label[io.kubernetes.pod.namespace]"] == "shop"
            asked = api.requests if cri else api.asked
            assert len(asked) == 1, asked
            assert _metrics(sensor.port)["saker_state_container_lookups_found_total"] == 1
        finally:
            remove_cgroups(created)
            rest, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr[-3000:]
    # The capture holds what the runtime said, where it was learned: its replay names the same alerts.
    live = [alert["output"] for alert in [alert] + _alerts(rest)]
    replayed = subprocess.run([sys.executable, str(ROOT / "run.py"), "-c", "config/replay.yaml", "--replay",
                               str(capture), "-r", str(tmp_path / "rules.yaml"), "-o", "json_output=true",
                               "-o", "webserver.enabled=false"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    named = [a["output"] for a in _alerts(replayed.stdout) if a["output_fields"]["container.name"] is not None]
    assert named[-len(live):] == live


REAL_CONTAINER_RULE = """
- rule: Marker command in a container
  desc: test rule, fires on a command carrying the test's marker inside a container
  condition: evt.type in (execve, execveat) and proc.args contains "{marker}" and container.id != host
  output: "in container %container.id name=%container.name image=%container.image
    repository=%container.image.repository tag=%container.image.tag type=%container.type
    privileged=%container.privileged pod=%k8s.pod.name ns=%k8s.ns.name app=%container.label[app]
    pod_app=%k8s.pod.label[app] pod_labels=%k8s.pod.labels pod_ip=%k8s.pod.ip host_network=%container.host_network
    host_pid=%container.host_pid mounts=%container.mounts data=%container.mount.source[/data]
    data_rw=%container.mount.rdwr[0]"
  priority: NOTICE
"""


def _run_in_cgroup(cgroup: Path, *commands: list[str]) -> None:
    """Runs `commands` one after the other, each a new process of a process moved into `cgroup` first: a
    thread's cgroups (its container) are read at its exec."""
    code = ("import os, subprocess\n"
            f"open(os.path.join({str(cgroup)!r}, 'cgroup.procs'), 'w').write(str(os.getpid()))\n"
            f"for command in {list(commands)!r}:\n"
            "    subprocess.run(command, check=True)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def _stop_after_later_batches(sensor: Sensor) -> tuple[str, str]:
    """Stops the sensor once a marker command's alert is out: the batches of what ran before it are through."""
    subprocess.run(["/bin/echo", sensor.marker], check=True, stdout=subprocess.DEVNULL)
    _alert_of(sensor, lambda a: a["rule"] == "Marker command run")
    return sensor.stop()


@contextmanager
def _repeated_in_cgroup(cgroup: Path, command: list[str], stop: Path) -> Iterator[None]:
    """While the block runs, a process moved into `cgroup` runs `command` ten times a second (for 20 s at most),
    each time as a new process: a thread's cgroups (its container) are read at its exec."""
    code = ("import os, subprocess, sys, time\n"
            f"open(os.path.join({str(cgroup)!r}, 'cgroup.procs'), 'w').write(str(os.getpid()))\n"
            "deadline = time.monotonic() + 20\n"
            f"while not os.path.exists({str(stop)!r}) and time.monotonic() < deadline:\n"
            f"    subprocess.run({command!r}, stdout=subprocess.DEVNULL)\n"
            "    time.sleep(0.1)\n")
    runner = subprocess.Popen([sys.executable, "-c", code])
    try:
        yield
    finally:
        stop.touch()
        runner.wait(timeout=30)


def _only_runtime(engine: str, socket_path: Path) -> list[str]:
    """run.py options: `engine`'s socket at `socket_path`, every other runtime off."""
    others = [name for name in ("docker", "podman", "cri_o", "containerd") if name != engine]
    return ["-o", f"container_engines.{engine}.sockets=[{socket_path}]",
            *[arg for name in others for arg in ("-o", f"container_engines.{name}.enabled=false")]]


def _marker_loop(marker: str) -> str:
    """A shell loop (for a container's /bin/sh) whose every round is a new process carrying `marker`: an execve
    to alert on, ten times a second for up to 30 s."""
    return f'for i in $(seq 300); do sh -c ": {marker} $i"; sleep 0.1; done'


def test_a_real_docker_container_is_named_by_dockerd(tmp_path: Path) -> None:
    """A container run by a real Docker daemon (Debian's dockerd, on a socket of the test's own): its commands'
    alerts carry the id from its cgroups, then the name, image, labels and pod that dockerd gives."""
    from tests import dockerd

    missing = dockerd.available()
    assert missing is None, f"{missing}; ./saker test installs it"  # CI must run this test, not skip it
    with dockerd.Dockerd() as docker:
        sensor = Sensor(tmp_path, *_only_runtime("docker", docker.socket), rules_text=REAL_CONTAINER_RULE)
        name = f"saker-{secrets.token_hex(4)}"
        try:
            loop = _marker_loop(sensor.marker)
            shared = tmp_path / "shared"
            shared.mkdir()
            docker.cli("run", "--detach", "--name", name, "--network", "none", "--label", "app=web",
                       "--volume", f"{shared}:/data:ro", "--pid", "host",
                       "--label", "io.kubernetes.pod.name=web-7d9f", "--label", "io.kubernetes.pod.namespace=shop",
                       dockerd.IMAGE, "sh", "-c", loop)
            full_id = docker.cli("inspect", "--format", "{{.Id}}", name).stdout.strip()
            alert = _alert_of(sensor, lambda a: a["output_fields"]["container.name"] is not None, seconds=20)
            fields = alert["output_fields"]
            assert fields["container.id"] == full_id[:12]
            assert (fields["container.name"], fields["container.image"], fields["container.image.repository"],
                    fields["container.image.tag"], fields["container.type"]) == (
                name, dockerd.IMAGE, "saker-test/shell", "1", "docker")
            assert fields["container.privileged"] is False
            assert (fields["k8s.pod.name"], fields["k8s.ns.name"], fields["container.label[app]"]) == (
                "web-7d9f", "shop", "web")
            assert (fields["container.host_network"], fields["container.host_pid"]) == (False, True)
            assert fields["container.mounts"] == f"{shared}:/data:ro:false:rprivate"
            assert (fields["container.mount.source[/data]"], fields["container.mount.rdwr[0]"]) == (
                str(shared), "false")
            assert _metrics(sensor.port)["saker_state_container_lookups_found_total"] == 1
        finally:
            docker.cli("rm", "--force", name, check=False)
            _, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr[-3000:]


def test_a_real_kubernetes_pod_is_named_by_containerd(tmp_path: Path) -> None:
    """A pod run through the Kubernetes CRI of a real containerd (Debian's, on a socket of the test's own), as the
    kubelet runs one: its commands' alerts carry the container id from its cgroups, then the container's name,
    image and pod that containerd's CRI gives."""
    from tests import containerd

    missing = containerd.available()
    assert missing is None, f"{missing}; ./saker test installs it"  # CI must run this test, not skip it
    with containerd.Containerd() as runtime:
        sensor = Sensor(tmp_path, *_only_runtime("containerd", runtime.socket), rules_text=REAL_CONTAINER_RULE)
        try:
            loop = _marker_loop(sensor.marker)
            shared = tmp_path / "shared"
            shared.mkdir()
            full_id = runtime.run_pod("web-7d9f", "shop", "web", ["/bin/sh", "-c", loop], pod_labels={"app": "web"},
                                      mounts={str(shared): "/data"})
            alert = _alert_of(sensor, lambda a: a["output_fields"]["container.name"] is not None, seconds=20)
            fields = alert["output_fields"]
            assert fields["container.id"] == full_id[:12]
            assert (fields["container.name"], fields["container.image"], fields["container.image.repository"],
                    fields["container.image.tag"], fields["container.type"]) == (
                "web", containerd.IMAGE, "docker.io/saker-test/shell", "1", "containerd"), fields
            assert fields["container.privileged"] is False
            assert (fields["k8s.pod.name"], fields["k8s.ns.name"]) == ("web-7d9f", "shop")
            # From the pod's sandbox (PodSandboxStatus): its labels; no address of its own on the host's network.
            assert fields["k8s.pod.label[app]"] == "web"
            assert "app:web" in fields["k8s.pod.labels"].split(", ")
            assert (fields["k8s.pod.ip"], fields["container.host_network"], fields["container.host_pid"]) == (
                None, True, False)
            assert fields["container.mounts"] == f"{shared}:/data::true:private"
            assert (fields["container.mount.source[/data]"], fields["container.mount.rdwr[0]"]) == (
                str(shared), "true")
            assert _metrics(sensor.port)["saker_state_container_lookups_found_total"] >= 1
        finally:
            _, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr[-3000:]


def test_the_stable_release_agent_rule_sees_the_effective_capabilities(tmp_path: Path) -> None:
    """Falco's stable rule "Detect release_agent File Container Escapes" (a write open of a `release_agent` file in
    a container, with CAP_SYS_ADMIN effective) fires for a process that has the capability, and not for one that
    setpriv started without it (bounding set): thread.cap_effective comes from the exec."""
    from tests.cgroups import new_cgroup, remove_cgroups

    sensor = Sensor(tmp_path, "-r", str(STABLE_RULES))
    rule = "Detect release_agent File Container Escapes"
    created: list[Path] = []
    with_cap, without_cap = tmp_path / "with" / "release_agent", tmp_path / "without" / "release_agent"
    for path in (with_cap, without_cap):
        path.parent.mkdir()
    try:
        cgroup = new_cgroup("pids", f"docker/{secrets.token_hex(32)}", created)
        opener = [sys.executable, "-c", "import sys; open(sys.argv[1], 'w').close()"]
        _run_in_cgroup(cgroup, ["/usr/bin/setpriv", "--bounding-set=-sys_admin", *opener, str(without_cap)],
                       [*opener, str(with_cap)])
        alert = _alert_of(sensor, lambda a: a["rule"] == rule, seconds=15)
        fields = alert["output_fields"]
        assert fields["fd.name"] == str(with_cap)
        assert "CAP_SYS_ADMIN" in fields["thread.cap_effective"].split()
        rest, stderr = _stop_after_later_batches(sensor)
    finally:
        remove_cgroups(created)
    assert sensor.proc.returncode == 0, stderr[-3000:]
    assert not [a for a in _alerts(rest) if a["rule"] == rule]


def test_the_stable_drop_and_execute_rule_sees_the_overlay_upper_layer(tmp_path: Path) -> None:
    """Falco's stable rule "Drop and execute new binary in container" fires for a program a container wrote into
    its overlayfs root (the upper layer) and runs, and not for one of its image (the lower layer)."""
    from tests.cgroups import new_cgroup, remove_cgroups

    sensor = Sensor(tmp_path, "-r", str(STABLE_RULES))
    rule = "Drop and execute new binary in container"
    lower, upper, work, merged = (tmp_path / name for name in ("lower", "upper", "work", "merged"))
    for folder in (lower, upper, work, merged):
        folder.mkdir()
    shutil.copy("/bin/true", lower / "from-image")
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}",
                    str(merged)], check=True)
    created: list[Path] = []
    try:
        shutil.copy("/bin/true", merged / "dropped")
        cgroup = new_cgroup("pids", f"docker/{secrets.token_hex(32)}", created)
        _run_in_cgroup(cgroup, [str(merged / "from-image")], [str(merged / "dropped")])
        alert = _alert_of(sensor, lambda a: a["rule"] == rule, seconds=15)
        fields = alert["output_fields"]
        assert fields["proc.exe"].endswith("dropped")
        # The output's inode times and container start are known (the program's, and its pid namespace's init).
        assert fields["proc.exe_ino.ctime"] == (merged / "dropped").stat().st_ctime_ns
        assert fields["proc.exe_ino.mtime"] == (merged / "dropped").stat().st_mtime_ns
        assert fields["container.start_ts"] is not None and fields["proc.exe_ino.ctime_duration_proc_start"] > 0
        rest, stderr = _stop_after_later_batches(sensor)
    finally:
        remove_cgroups(created)
        subprocess.run(["umount", str(merged)], check=False)
    assert sensor.proc.returncode == 0, stderr[-3000:]
    assert not [a for a in _alerts(rest) if a["rule"] == rule]


def test_the_stable_debugfs_rule_sees_a_privileged_container(tmp_path: Path) -> None:
    """Falco's stable rule "Debugfs Launched in Privileged Container" fires once the runtime said the container is
    privileged (a Docker Engine API on a unix socket answers for it; a privileged container cannot be started on
    this machine's kernel): a program named debugfs runs in it until the alert comes."""
    from tests.cgroups import new_cgroup, remove_cgroups
    from tests.docker_api import DockerApi, inspect_document

    full_id = secrets.token_hex(32)
    document = inspect_document(full_id, "debug", "busybox:1", {}, privileged=True)
    created: list[Path] = []
    with DockerApi(tmp_path / "docker.sock", [document]) as api:
        sensor = Sensor(tmp_path, *_only_runtime("docker", api.socket_path), "-r", str(STABLE_RULES))
        try:
            cgroup = new_cgroup("pids", f"docker/{full_id}", created)
            debugfs = tmp_path / "debugfs"
            debugfs.symlink_to(os.path.realpath(sys.executable))  # a program named debugfs (Python, doing nothing)
            with _repeated_in_cgroup(cgroup, [str(debugfs), "-c", "pass"], tmp_path / "stop"):
                alert = _alert_of(sensor, lambda a: a["rule"] == "Debugfs Launched in Privileged Container",
                                  seconds=15)
            assert alert["output_fields"]["proc.name"] == "debugfs"
        finally:
            remove_cgroups(created)
            _, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr[-3000:]


K8S_API_NAME = "kubernetes.default.svc.cluster.local"


def test_the_stable_k8s_api_rule_names_the_server_address(tmp_path: Path) -> None:
    """Falco's stable rule "Contact K8S API Server From Container" compares fd.sip.name with the API server's name:
    the sensor resolves that name (here through an /etc/hosts line for a loopback address, in a copy of the file
    the sensor alone sees) and names the connect's server address by it."""
    from tests.cgroups import new_cgroup, remove_cgroups

    address = "127.0.0.93"
    hosts = tmp_path / "hosts"
    hosts.write_text(Path("/etc/hosts").read_text().rstrip("\n") + f"\n{address} {K8S_API_NAME}\n")
    listener = socket.create_server((address, 0), backlog=512)  # never accepts: the clients only connect
    created: list[Path] = []
    try:
        sensor = Sensor(tmp_path, "-r", str(STABLE_RULES), hosts=hosts)
        cgroup = new_cgroup("pids", f"docker/{secrets.token_hex(32)}", created)
        client = f"import socket; socket.create_connection(({address!r}, {listener.getsockname()[1]}), 2).close()"
        try:
            with _repeated_in_cgroup(cgroup, [sys.executable, "-c", client], tmp_path / "stop"):
                alert = _alert_of(sensor, lambda a: a["rule"] == "Contact K8S API Server From Container",
                                  seconds=15)
            assert alert["output_fields"]["fd.name"].endswith(f"->{address}:{listener.getsockname()[1]}")
        finally:
            _, stderr = sensor.stop()
        assert sensor.proc.returncode == 0, stderr[-3000:]
    finally:
        listener.close()
        remove_cgroups(created)


def _alerts(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


WRITE_RULE = RULES + """
- rule: Marker written
  desc: test rule, fires on a write whose data carries the test's marker
  condition: evt.type = write and evt.buffer contains "{marker}"
  output: "marker written to %fd.name (data=%evt.buffer size=%evt.rawarg.size proc=%proc.name)"
  priority: NOTICE
  tags: [test]
"""


def test_a_rule_on_written_data_traces_write_and_sees_the_bytes(tmp_path: Path) -> None:
    """Only a rule naming `write` makes the sensor trace it; the alert carries the data and the file written."""
    sensor = Sensor(tmp_path, rules_text=WRITE_RULE)
    target = tmp_path / "written.txt"
    try:
        subprocess.run(["sh", "-c", f'printf "%s" "x-{sensor.marker}-y" > {target}'], check=True)
        alert = _alert_of(sensor, lambda alert: alert["rule"] == "Marker written")
        fields = alert["output_fields"]
        assert (fields["fd.name"], fields["evt.rawarg.size"], fields["proc.name"]) == (
            str(target), len(sensor.marker) + 4, "sh")
        assert fields["evt.buffer"] == f"x-{sensor.marker}-y"
        assert f"data=x-{sensor.marker}-y " in alert["output"]
    finally:
        _, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr[-3000:]
