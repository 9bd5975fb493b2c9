"""A Docker Engine API on a unix socket, for tests: `GET /containers/{id}/json` answers the inspect document
of a container it holds (found by an id prefix, as dockerd does), 404 otherwise; it records every path asked."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
from pathlib import Path


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class DockerApi:
    def __init__(self, socket_path: Path, containers: list[dict]) -> None:
        self.socket_path = socket_path
        self.containers = containers
        self.asked: list[str] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                api.asked.append(self.path)
                parts = self.path.strip("/").split("/")
                found = [c for c in api.containers if len(parts) == 3 and parts[0] == "containers"
                         and parts[2] == "json" and c["Id"].startswith(parts[1])]
                body = json.dumps(found[0] if found else {"message": f"No such container: {parts[1:2]}"}).encode()
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
