"""Event state for enrichment: threads, fds, users, containers as version tables, joined to events as-of.

Public entry point: `stages.state.enrich.Enricher`. The design (append-only version tables, vectorized
as-of joins) is described in `stages.state.asof` and `stages.state.enrich`.
"""

from stages.state.enrich import Enricher, SUPPORTED_FIELDS

__all__ = ["Enricher", "SUPPORTED_FIELDS"]
