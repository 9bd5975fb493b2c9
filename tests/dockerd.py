"""A real Docker daemon for live tests (as root): Debian's dockerd on a private socket and data folder, with an
image made here of the host's own shell (`tests.images`; nothing is pulled). Stopped, with its containerd
and containers, and its folder removed on exit; the host's own Docker, if any, is not touched.

Set-up for the tests installs docker.io (`scripts/setup.sh --test`)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from tests import daemons, images
from tests.conftest import wait_for

IMAGE = "saker-test/shell:1"


def available() -> str | None:
    """None when a daemon can be started here, else what is missing."""
    return daemons.missing(("dockerd", "docker"), "docker.io")


class Dockerd:
    """`with Dockerd() as docker:` a running daemon; `docker.socket`, `docker.cli(...)`."""

    def __init__(self) -> None:
        # A short folder: the socket's path must fit a unix address (108 bytes).
        self.folder = Path(tempfile.mkdtemp(prefix="saker-dockerd-"))
        self.socket = self.folder / "docker.sock"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Dockerd":
        # No network of its own (no bridge, no iptables rules on the host) and plain folders for layers (vfs):
        # what the containers here need, and nothing the host keeps afterwards.
        self.proc = subprocess.Popen(
            ["dockerd", "--host", f"unix://{self.socket}", "--data-root", str(self.folder / "data"),
             "--exec-root", str(self.folder / "exec"), "--pidfile", str(self.folder / "dockerd.pid"),
             "--bridge", "none", "--iptables=false", "--ip-masq=false", "--storage-driver", "vfs"],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "dockerd.log", "wb"))
        try:
            wait_for(lambda: self._answers() or self.proc.poll() is not None, 60, "dockerd answering")
            assert self.proc.poll() is None, self.log()
            self.cli("import", "-", IMAGE, input=images.root_tar())
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            listed = self.cli("ps", "-aq", check=False).stdout.split()
            if listed:
                self.cli("rm", "-f", *listed, check=False)
        daemons.stop(self.proc, self.folder)  # dockerd stops the containerd it started, then itself

    def cli(self, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(["docker", "--host", f"unix://{self.socket}", *args], input=input,
                              capture_output=True, timeout=120)
        if check:
            assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr.decode(errors='replace')}"
        done.stdout = done.stdout.decode(errors="replace")
        return done

    def log(self) -> str:
        return (self.folder / "dockerd.log").read_text(errors="replace")[-3000:]

    def _answers(self) -> bool:
        return self.socket.exists() and self.cli("version", check=False).returncode == 0
