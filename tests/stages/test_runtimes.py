"""Container metadata looked up on a Docker Engine API socket (a real HTTP server on a unix socket)."""

from __future__ import annotations

import json
import secrets
import socket
import time
from pathlib import Path

from stages.runtimes import RuntimeLookups, from_docker_inspect
from tests.docker_api import DockerApi, inspect_document

K8S_LABELS = {"io.kubernetes.pod.name": "web-7d9f", "io.kubernetes.pod.namespace": "shop",
              "io.kubernetes.pod.uid": "0b6c4f5e-1111-2222-3333-444455556666",
              "io.kubernetes.sandbox.id": "f" * 64, "app": "web"}


def test_an_inspect_document_gives_name_image_labels_and_pod() -> None:
    full_id = "c0ffee" + "0" * 58
    info = from_docker_inspect("docker", inspect_document(full_id, "shop_web_1", "registry.local:5000/team/web:1.2",
                                                          K8S_LABELS, privileged=True))
    assert info.id == full_id[:12]
    values = info.values
    assert (values["name"], values["image"], values["image_repository"], values["image_tag"]) == (
        "shop_web_1", "registry.local:5000/team/web:1.2", "registry.local:5000/team/web", "1.2")
    assert (values["type"], values["privileged"], values["full_id"], values["ip"]) == (
        "docker", True, full_id, "172.17.0.2")
    assert values["image_id"] == "ab" * 6
    assert (values["pod_name"], values["pod_namespace"], values["pod_sandbox_id"]) == ("web-7d9f", "shop", "f" * 64)
    assert "app:web" in values["labels"]
    untagged = from_docker_inspect("podman", inspect_document(full_id, "x", "localhost:5000/app", {}))
    assert (untagged.values["image_repository"], untagged.values["image_tag"]) == ("localhost:5000/app", None)
    assert untagged.values["pod_name"] is None


def test_an_inspect_document_gives_mounts_and_host_namespaces() -> None:
    """Mounts as `container.mounts` prints them; a namespace mode "host" is the host's namespace."""
    document = inspect_document("c0ffee" + "0" * 58, "web", "nginx:1", {})
    document["Mounts"] = [
        {"Type": "bind", "Source": "/srv/www", "Destination": "/usr/share/nginx/html", "Mode": "ro", "RW": False,
         "Propagation": "rprivate"},
        {"Type": "volume", "Source": "/var/lib/docker/volumes/v/_data", "Destination": "/cache", "Mode": "",
         "RW": True, "Propagation": ""}]
    document["HostConfig"] |= {"NetworkMode": "host", "PidMode": "", "IpcMode": "private"}
    values = from_docker_inspect("docker", document).values
    assert values["mounts"] == ("/srv/www:/usr/share/nginx/html:ro:false:rprivate,"
                                "/var/lib/docker/volumes/v/_data:/cache::true:")
    assert json.loads(values["mounts_json"])[0] == ["/srv/www", "/usr/share/nginx/html", "ro", False, "rprivate"]
    assert (values["host_network"], values["host_pid"], values["host_ipc"]) == (True, False, False)


def _wait_for(condition, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_lookups_run_in_the_background_and_each_id_is_asked_once(tmp_path: Path) -> None:
    """A known container is answered; an unknown one is asked once (404: remembered); a socket that does not
    exist is skipped."""
    known = secrets.token_hex(32)
    with DockerApi(tmp_path / "docker.sock", [inspect_document(known, "web", "nginx:1.27", K8S_LABELS)]) as api:
        lookups = RuntimeLookups([("docker", str(tmp_path / "absent.sock")), ("docker", str(api.socket_path))],
                                 timeout=1.0)
        try:
            lookups.request([known[:12], "0123456789ab"])
            found = _wait_for(lookups.answers)
            assert [info.id for info in found] == [known[:12]]
            assert found[0].values["name"] == "web" and found[0].values["pod_namespace"] == "shop"
            _wait_for(lambda: lookups.counts["not_found"] + lookups.counts["found"] == 2)
            lookups.request([known[:12], "0123456789ab"])  # both asked already
            assert lookups.counts["requested"] == 2
            assert sorted(api.asked) == sorted(f"/containers/{cid}/json" for cid in (known[:12], "0123456789ab"))
        finally:
            lookups.close()


def test_a_failing_socket_is_counted_and_the_id_asked_again_later(tmp_path: Path) -> None:
    """A socket nobody answers on (bound, not listening: connect is refused) counts a failure, never raises,
    and the id is asked again when seen again."""
    dead = tmp_path / "dead.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(dead))
    lookups = RuntimeLookups([("docker", str(dead))], timeout=0.5)
    try:
        lookups.request(["0123456789ab"])
        _wait_for(lambda: lookups.counts["failed"] == 1)
        lookups.request(["0123456789ab"])
        _wait_for(lambda: lookups.counts["failed"] == 2)
        assert lookups.answers() == []
    finally:
        lookups.close()
        listener.close()


def test_cri_o_info_names_a_kubernetes_container_by_its_label(tmp_path: Path) -> None:
    """cri-o's info API (`GET /containers/{id}`): the container named by the kubelet's label, its pod, image
    and address; privilege and full id unknown to it."""
    from tests.docker_api import crio_document

    full_id = secrets.token_hex(32)
    labels = K8S_LABELS | {"io.kubernetes.container.name": "web"}
    with DockerApi(tmp_path / "crio.sock", [crio_document(full_id, "web", "quay.io/team/web:2.0", labels)],
                   crio=True) as api:
        lookups = RuntimeLookups([("cri-o", str(api.socket_path))], timeout=1.0)
        try:
            lookups.request([full_id[:12]])
            (info,) = _wait_for(lookups.answers)
        finally:
            lookups.close()
    assert api.asked == [f"/containers/{full_id[:12]}"]
    values = info.values
    assert info.id == full_id[:12]
    assert (values["name"], values["image_repository"], values["image_tag"], values["type"]) == (
        "web", "quay.io/team/web", "2.0", "cri-o")
    assert (values["pod_name"], values["pod_namespace"], values["ip"]) == ("web-7d9f", "shop", "10.88.0.7")
    assert values["privileged"] is None and values["full_id"] is None


def test_containerd_answers_over_the_cri(tmp_path: Path) -> None:
    """containerd over gRPC (ContainerStatus, verbose): name from the kubelet's label, image, pod, sandbox and
    privilege from the verbose info; the request is the CRI's wire encoding; an unknown id is NOT_FOUND."""
    from tests.cri_api import CriApi, status_response

    full_id = secrets.token_hex(32)
    labels = {"io.kubernetes.pod.name": "web-7d9f", "io.kubernetes.pod.namespace": "shop",
              "io.kubernetes.container.name": "web"}
    info = json.dumps({"sandboxID": "e" * 64, "config": {"linux": {"security_context": {"privileged": True}}}})
    answer = status_response(full_id, "web", "registry.local:5000/web:1.2", labels, info)
    with CriApi(tmp_path / "containerd.sock", {full_id: answer}) as api:
        lookups = RuntimeLookups([("containerd", str(api.socket_path))], timeout=2.0)
        try:
            lookups.request([full_id[:12], "0123456789ab"])
            (info_found,) = _wait_for(lookups.answers)
            _wait_for(lambda: lookups.counts["not_found"] == 1)
        finally:
            lookups.close()
    assert api.requests[0] == b"\n\x0c" + full_id[:12].encode() + b"\x10\x01"  # container_id = 1, verbose = 2
    values = info_found.values
    assert info_found.id == full_id[:12] and values["full_id"] == full_id
    assert (values["name"], values["image_repository"], values["image_tag"], values["type"]) == (
        "web", "registry.local:5000/web", "1.2", "containerd")
    assert (values["pod_name"], values["pod_namespace"], values["pod_sandbox_id"]) == ("web-7d9f", "shop", "e" * 64)
    assert values["privileged"] is True and values["image_id"] == "cd" * 6


def test_a_full_queue_counts_drops_and_closing_does_not_wait_for_it(tmp_path: Path) -> None:
    """A runtime that never answers (listening, never accepting) holds the lookups up to their timeout: ids past
    the queue's bound are counted dropped, and closing returns without working through the queue."""
    from stages.runtimes import MAX_PENDING

    silent = tmp_path / "silent.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(silent))
    listener.listen(8)
    lookups = RuntimeLookups([("docker", str(silent))], timeout=0.2)
    try:
        lookups.request([f"{n:012x}" for n in range(MAX_PENDING + 10)])
        counts = lookups.counts
        assert counts["dropped"] >= 9 and counts["requested"] + counts["dropped"] == MAX_PENDING + 10
        started = time.monotonic()
        lookups.close()
        assert time.monotonic() - started < 2.0
    finally:
        listener.close()


def test_a_bad_answer_of_any_shape_is_a_failure_and_lookups_go_on(tmp_path: Path) -> None:
    """A runtime answering a document of the wrong shape (a list, not an object) fails that lookup only."""
    good = secrets.token_hex(32)
    with DockerApi(tmp_path / "docker.sock", [{"Id": "bad" + "0" * 61, "Config": "not an object"},
                                             inspect_document(good, "web", "nginx:1.27", {})]) as api:
        lookups = RuntimeLookups([("docker", str(api.socket_path))], timeout=1.0)
        try:
            lookups.request(["bad000000000", good[:12]])
            (info,) = _wait_for(lookups.answers)
            assert info.id == good[:12] and lookups.counts["failed"] == 1
        finally:
            lookups.close()


def test_containerds_verbose_info_leaves_out_a_false_privileged() -> None:
    """containerd's info JSON omits `privileged` when false: an info with a config says unprivileged."""
    from stages import cri
    from tests.cri_api import status_response

    info = json.dumps({"sandboxID": "e" * 64, "config": {"metadata": {"name": "web"}, "linux": {
        "security_context": {"namespace_options": {"network": 2}}}}})
    status = cri.from_status("ab" * 6, cri.Response.FromString(status_response("ab" * 32, "web", "nginx:1", {}, info)))
    assert status.values["privileged"] is False


def test_a_cri_status_gives_mounts_and_namespaces_and_the_sandbox_the_pod() -> None:
    """ContainerStatus: mounts (host path, container path, no mode, read-write unless read-only, propagation named
    as libsinsp names it) and namespace modes (NODE: the host's); PodSandboxStatus: the pod's labels, address,
    and CNI result trimmed as libsinsp trims it."""
    from stages import cri
    from tests.cri_api import field, map_field, status_response

    mount = field(14, field(1, "/data") + field(2, "/srv/data") + field(3, 1) + field(5, 1))
    info = json.dumps({"sandboxID": "e" * 64, "config": {"linux": {"security_context": {
        "namespace_options": {"pid": 2, "ipc": 0}}}}})
    answer = status_response("ab" * 32, "web", "nginx:1", {}, info)
    status = cri.Response.FromString(field(1, cri.Response.FromString(answer).status.SerializeToString() + mount)
                                     + map_field(2, {"info": info}))
    values = cri.from_status("ab" * 6, status).values
    assert values["mounts"] == "/srv/data:/data::false:rslave"
    assert (values["host_network"], values["host_pid"], values["host_ipc"]) == (False, True, False)

    cni = {"cniResult": {"Interfaces": {"eth0": {"IPConfigs": [{"IP": "10.1.0.7"}], "Mac": "aa:bb",
                                                  "Sandbox": "/var/run/netns/x"},
                                         "lo": {"IPConfigs": [{"IP": "127.0.0.1"}]}, "veth1234": {"Mac": "cc"}}}}
    sandbox_labels = {"app": "web", "io.kubernetes.pod.name": "web-7d9f", "io.kubernetes.pod.namespace": "shop"}
    sandbox = cri.SandboxResponse.FromString(
        field(1, field(1, "e" * 64) + field(2, field(1, "web-7d9f") + field(2, "uid-1") + field(3, "shop"))
              + field(5, field(1, "10.1.0.7")) + map_field(7, sandbox_labels))
        + map_field(2, {"info": json.dumps(cni)}))
    pod = cri._pod_values(sandbox)
    assert (pod["pod_ip"], pod["host_network"]) == ("10.1.0.7", False)
    assert json.loads(pod["pod_labels_json"])["app"] == "web" and "app:web" in pod["pod_labels"]
    assert pod["cni_json"] == '{"eth0":{"IPConfigs":[{"IP":"10.1.0.7"}]}}'
    # An id that is a pod's sandbox (its pause container) stands for the pod.
    pause = cri.from_sandbox("e" * 12, sandbox)
    assert (pause.id, pause.values["pod_name"], pause.values["pod_namespace"], pause.values["pod_uid"]) == (
        "e" * 12, "web-7d9f", "shop", "uid-1")
    assert pause.values["ip"] == "10.1.0.7" and "name" not in pause.values
    # On the host's network (linux.namespaces.options.network NODE) a pod has no address of its own.
    host = cri.SandboxResponse.FromString(field(1, field(5, field(1, "192.168.1.5"))
                                                + field(6, field(1, field(2, field(1, 2))))))
    assert (cri._pod_values(host)["pod_ip"], cri._pod_values(host)["host_network"]) == (None, True)


def test_a_cri_status_without_verbose_info_or_with_an_image_id() -> None:
    """A runtime that gives no verbose info: privilege unknown, the sandbox from the labels only; an image given
    by its id is named by its reference; no labels: the CRI name."""
    from stages import cri
    from tests.cri_api import status_response

    full_id = "ab" * 32
    plain = cri.from_status(full_id[:12], cri.Response.FromString(
        status_response(full_id, "sidecar", "sha256:" + "12" * 32, {}, "not json")))
    values = plain.values
    assert (values["name"], values["privileged"], values["pod_sandbox_id"]) == ("sidecar", None, None)
    assert values["image"] == "sha256:" + "cd" * 32  # the reference the status gives


def test_new_containers_are_worth_listing_only_where_a_runtime_socket_is(tmp_path: Path, monkeypatch) -> None:
    """Without any configured socket the capture skips listing new containers; a runtime that starts later is
    found at the next look."""
    from stages import runtimes

    path = tmp_path / "docker.sock"
    lookups = RuntimeLookups([("docker", str(path))])
    assert not lookups.available()
    path.touch()
    assert not lookups.available()  # looked at again only after RECHECK_S
    monkeypatch.setattr(runtimes, "RECHECK_S", 0.0)
    lookups._next_check = 0.0
    assert lookups.available()
