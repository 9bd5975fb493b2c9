"""CloudTrail log files on local disk: a file, or a folder walked for `*.json` and `*.json.gz`.

The walk goes in lexical order, entering each folder where it sorts, as upstream's Go walk does, so events
come out in the same order on every run. A file named explicitly is read whatever its name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from stages.plugins.cloudtrail.s3 import is_log_key


def log_files(path: str) -> Iterator[Path]:
    """The log files at `path`. Raises FileNotFoundError when there is nothing there."""
    root = Path(path)
    if root.is_dir():
        yield from _walk(root)
    elif root.exists():
        yield root
    else:
        raise FileNotFoundError(path)


def _walk(folder: Path) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return  # an unreadable sub-folder is skipped, as the Go walk does
    for entry in entries:
        if entry.is_dir():
            yield from _walk(Path(entry.path))
        elif is_log_key(entry.name):
            yield Path(entry.path)
