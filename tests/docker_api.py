"""A container runtime's API on a unix socket, for tests: the Docker Engine API's `GET /containers/{id}/json`
(the inspect document) or cri-o's `GET /containers/{id}` (its info document) answers for a container it holds
(found by an id prefix, as the runtimes do), 404 otherwise; it records every path asked."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
from pathlib import Path


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class DockerApi:
    def __init__(self, socket_path: Path, containers: list[dict], *, crio: bool = False) -> None:
        """`containers`: their documents, each with its full id under "Id" (left out of a cri-o answer)."""
        self.socket_path = socket_path
        self.containers = containers
        self.asked: list[str] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                api.asked.append(self.path)
                parts = self.path.strip("/").split("/")
                shape = len(parts) == (2 if crio else 3) and parts[0] == "containers" and (crio or parts[2] == "json")
                found = [c for c in api.containers if c["Id"].startswith(parts[1])] if shape else []
                document = dict(found[0]) if found else {"message": "no such container"}
                if crio:
                    document.pop("Id", None)  # cri-o's info holds no id
                body = json.dumps(document).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def address_string(self) -> str:
                return "unix"

            def log_message(self, *args) -> None:
                pass

        self.server = _Server(str(socket_path), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "DockerApi":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.socket_path.unlink(missing_ok=True)


def inspect_document(full_id: str, name: str, image: str, labels: dict[str, str], privileged: bool = False) -> dict:
    """The parts of `docker inspect`'s document the sensor reads, shaped as dockerd returns them."""
    return {"Id": full_id, "Name": f"/{name}", "Image": "sha256:" + "ab" * 32,
            "Config": {"Image": image, "Labels": labels, "Hostname": full_id[:12]},
            "HostConfig": {"Privileged": privileged, "NetworkMode": "bridge"},
            "NetworkSettings": {"IPAddress": "172.17.0.2"}, "State": {"Status": "running", "Pid": 4242}}


def crio_document(full_id: str, name: str, image: str, labels: dict[str, str]) -> dict:
    """cri-o's container info document (plus the full id under "Id", for the fake server to find it)."""
    return {"Id": full_id, "name": f"k8s_{name}_pod_ns_uid_0", "pid": 4242, "image": image,
            "image_ref": "cd" * 32, "created_time": 1767225600, "labels": labels, "annotations": {},
            "crio_annotations": {}, "log_path": "/var/log/pods/x.log", "root": "/var/lib/containers/x",
            "sandbox": "e" * 64, "ip_addresses": ["10.88.0.7"]}
