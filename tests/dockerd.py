"""A real Docker daemon for live tests (as root): Debian's dockerd on a private socket and data folder, with an
image made here of the host's own shell, `seq` and `sleep` (nothing is pulled). Stopped, with its containerd
and containers, and its folder removed on exit; the host's own Docker, if any, is not touched.

Set-up for the tests installs docker.io (`scripts/setup.sh --test`)."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from tests.conftest import wait_for

IMAGE = "saker-test/shell:1"
_PROGRAMS = ("sh", "seq", "sleep")  # what the tests' containers run


def available() -> str | None:
    """None when a daemon can be started here, else what is missing."""
    for program in ("dockerd", "docker"):
        if shutil.which(program) is None:
            return f"{program} is not installed (apt-get install docker.io)"
    return None


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
            self.cli("import", "-", IMAGE, input=_image_root())
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            listed = self.cli("ps", "-aq", check=False).stdout.split()
            if listed:
                self.cli("rm", "-f", *listed, check=False)
            self.proc.send_signal(signal.SIGTERM)  # it stops the containerd it started, then itself
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

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


def _image_root() -> bytes:
    """A root file system as a tar: this host's own `sh`, `seq` and `sleep` with the shared libraries they load,
    each at the path the loader looks for it."""
    files: dict[str, str] = {}  # path in the image: file on the host
    for program in _PROGRAMS:
        found = shutil.which(program)
        assert found, f"{program} not found"
        files[f"/bin/{program}"] = os.path.realpath(found)
        for library in _libraries(found):
            files[library] = os.path.realpath(library)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        folders = {str(parent) for path in files for parent in PurePosixPath(path).parents} - {"/"}
        for folder in sorted(folders | {"/tmp", "/etc"}):
            info = tarfile.TarInfo(folder.lstrip("/"))
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "/tmp" else 0o755
            tar.addfile(info)
        for path, source in sorted(files.items()):
            tar.add(source, path.lstrip("/"))
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size, info.mode = len(passwd), 0o644
        tar.addfile(info, io.BytesIO(passwd))
    return out.getvalue()


def _libraries(program: str) -> list[str]:
    """The shared libraries `program` loads, by the paths the loader finds them at (ldd's answer)."""
    listed = subprocess.run(["ldd", program], capture_output=True, text=True, check=True).stdout
    return [word for line in listed.splitlines() for word in line.split() if word.startswith("/")]
