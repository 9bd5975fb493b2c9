"""A real containerd with its CRI plugin for live tests (as root): Debian's containerd on a private socket and
folder, an image of the host's own shell imported (`tests.images`; nothing is pulled), and pods run through the
Kubernetes CRI as the kubelet does, on the host's network (no CNI). Everything is removed on exit.

The CRI requests are written as protobuf wire bytes field by field (`tests.cri_api.field`, numbers from the CRI's
runtime/v1 api.proto), not with the sensor's own message descriptions. Set-up for the tests installs containerd
(it comes with docker.io: `scripts/setup.sh --test`)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import grpc

from tests import daemons, images
from tests.conftest import wait_for
from tests.cri_api import field, map_field

IMAGE = "docker.io/saker-test/shell:1"  # the pods' sandbox ("pause") image too: its entrypoint sleeps
_SERVICE = "/runtime.v1.RuntimeService/"
_NODE = 2  # NamespaceMode NODE: the host's network namespace, so no CNI plugin is needed

_CONFIG = """version = 2
root = "{folder}/root"
state = "{folder}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "{folder}/containerd.sock"
[ttrpc]
  address = "{folder}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{folder}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{image}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{folder}/cni/bin"
    conf_dir = "{folder}/cni/conf"
"""


def available() -> str | None:
    """None when containerd can be started here, else what is missing."""
    return daemons.missing(("containerd", "ctr"), "containerd")


class Containerd:
    """`with Containerd() as runtime:` a running containerd; `runtime.socket`, `runtime.run_pod(...)`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="saker-ctrd-"))  # short: the socket path must fit
        self.socket = self.folder / "containerd.sock"
        self.proc: subprocess.Popen | None = None
        self._channel: grpc.Channel | None = None
        self._pods: list[str] = []

    def __enter__(self) -> "Containerd":
        config = self.folder / "config.toml"
        config.write_text(_CONFIG.format(folder=self.folder, image=IMAGE))
        self.proc = subprocess.Popen(["containerd", "--config", str(config)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.folder / "containerd.log", "wb"))
        try:
            wait_for(lambda: self._answers() or self.proc.poll() is not None, 60, "containerd answering")
            assert self.proc.poll() is None, self.log()
            self._ctr("images", "import", "--snapshotter", "native", "-",
                      input=images.docker_archive(IMAGE, ["/bin/sleep", "infinity"]))
            self._channel = grpc.insecure_channel(f"unix://{self.socket}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for pod in self._pods:  # stopping a pod stops its containers; removing it ends their shims
            for method in ("StopPodSandbox", "RemovePodSandbox"):
                try:
                    self._call(method, field(1, pod))
                except grpc.RpcError:
                    pass
        if self._channel is not None:
            self._channel.close()
        daemons.stop(self.proc, self.folder)

    def run_pod(self, pod: str, namespace: str, container: str, command: list[str], *,
                pod_labels: dict[str, str] | None = None, mounts: dict[str, str] | None = None) -> str:
        """A pod `namespace/pod` labelled `pod_labels`, with one container `container` running `command` and
        with the host folders `mounts` (host path: container path) mounted, as the kubelet makes it (sandbox, then
        container, then start); the container's full id."""
        logs = self.folder / "logs" / pod
        logs.mkdir(parents=True)
        metadata = field(1, pod) + field(2, f"uid-{pod}") + field(3, namespace)
        kubelet_labels = {"io.kubernetes.pod.name": pod, "io.kubernetes.pod.namespace": namespace,
                          "io.kubernetes.pod.uid": f"uid-{pod}"}
        host_network = field(1, field(1, _NODE))  # security_context {namespace_options {network NODE}}
        sandbox = (field(1, metadata) + field(3, str(logs)) + map_field(6, kubelet_labels | (pod_labels or {}))
                   + field(8, field(2, host_network)))
        sandbox_id = _text(self._call("RunPodSandbox", field(1, sandbox)))
        self._pods.append(sandbox_id)
        config = (field(1, field(1, container)) + field(2, field(1, IMAGE)) + field(3, command[0])
                  + b"".join(field(4, arg) for arg in command[1:])
                  + b"".join(field(7, field(1, inside) + field(2, host)) for host, inside in (mounts or {}).items())
                  + map_field(9, kubelet_labels | {"io.kubernetes.container.name": container})
                  + field(11, f"{container}.log") + field(15, field(2, field(3, field(1, _NODE)))))
        container_id = _text(self._call("CreateContainer", field(1, sandbox_id) + field(2, config)
                                        + field(3, sandbox)))
        self._call("StartContainer", field(1, container_id))
        return container_id

    def log(self) -> str:
        return (self.folder / "containerd.log").read_text(errors="replace")[-3000:]

    def _call(self, method: str, request: bytes) -> bytes:
        call = self._channel.unary_unary(_SERVICE + method)  # bytes in, bytes out
        return call(request, timeout=60)

    def _ctr(self, *args: str, input: bytes | None = None) -> None:
        done = subprocess.run(["ctr", "--address", str(self.socket), "--namespace", "k8s.io", *args], input=input,
                              capture_output=True, timeout=120)
        assert done.returncode == 0, f"ctr {' '.join(args)}: {done.stderr.decode(errors='replace')}"

    def _answers(self) -> bool:
        return self.socket.exists() and subprocess.run(
            ["ctr", "--address", str(self.socket), "version"], capture_output=True, timeout=30).returncode == 0


def _text(response: bytes) -> str:
    """Field 1 of a response, a string (pod_sandbox_id, container_id: shorter than 128 bytes)."""
    assert response[:1] == b"\x0a" and response[1] < 0x80, response
    return response[2: 2 + response[1]].decode()
