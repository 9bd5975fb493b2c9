"""Print every dependency pyproject.toml declares (runtime and test), one per line, for pip."""

import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
for dep in project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]:
    print(dep)
