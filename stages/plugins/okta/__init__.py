"""The `okta` source: Okta System Log events, polled from the API (Falco's okta plugin 0.12.0, in Python).

`fields.py` reads the plugin's fields from one event, `mfa.py` keeps the MFA counters' bounded state,
`poller.py` brings the events in. User documentation: docs/sources-okta.md.
"""

from __future__ import annotations

from stages.plugins.base import PluginSpec
from stages.plugins.okta.fields import OktaExtractor
from stages.plugins.okta.poller import OktaPoller

SPEC = PluginSpec(source="okta", plugin="okta", version="0.12.0", extractor=OktaExtractor, ingest=OktaPoller)
