"""The built-in plugin sources agree with what the rule loader declares and with the field catalog."""

from __future__ import annotations

import pytest

from rules.fields import REGISTRY
from rules.loader import BUILTIN_PLUGINS
from stages.plugins import MODULES, spec


@pytest.mark.parametrize("source", sorted(MODULES))
def test_spec_matches_the_declared_plugin(source: str) -> None:
    """Each source's spec names its source and a plugin whose version the loader declares."""
    plugin = spec(source)
    assert plugin.source == source
    assert BUILTIN_PLUGINS[plugin.plugin] == plugin.version


@pytest.mark.parametrize("source", sorted(MODULES))
def test_extractor_serves_every_catalog_field(source: str) -> None:
    """Every field the catalog lists for a source is one its extractor (or the generic part) can produce."""
    extractor = spec(source).extractor(hostname="test-host")
    names = {info.name for cls in REGISTRY.classes(source) for info in cls.fields}
    assert names == set(extractor.fields) | (names & set(extractor.common))
