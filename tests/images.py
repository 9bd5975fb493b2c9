"""Container images made here for live tests against real runtimes (nothing is pulled): this host's own `sh`,
`seq` and `sleep`, with the shared libraries they load, as a root file system."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import PurePosixPath

PROGRAMS = ("sh", "seq", "sleep")  # what the tests' containers run


def root_tar() -> bytes:
    """A root file system as a tar: this host's own `sh`, `seq` and `sleep` with the shared libraries they load,
    each at the path the loader looks for it."""
    files: dict[str, str] = {}  # path in the image: file on the host
    for program in PROGRAMS:
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


def docker_archive(reference: str, entrypoint: list[str]) -> bytes:
    """`root_tar` as one layer of an image named `reference`, in `docker save`'s format (what `ctr images import`
    reads), that runs `entrypoint` when started without a command."""
    layer = root_tar()
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Entrypoint": entrypoint},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [reference], "Layers": ["layer.tar"]}]).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in (("layer.tar", layer), (config_name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()
