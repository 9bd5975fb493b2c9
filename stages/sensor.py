"""The running sensor: load and check everything, then start the event sources and the pipeline.

The capture, worker and output stages land with the kernel capture (issue #5), replay (issue #4) and the
multiprocess pipeline (issue #6). Until an event source exists the sensor checks its config and rules, says
plainly that no source is built and exits with status 1, rather than pretending to watch the host.
"""

from __future__ import annotations

from config.logs import get_logger
from config.schema import Config


def run_sensor(config: Config, duration: float | None = None) -> int:
    from stages.commands import load_ruleset

    log = get_logger("main")
    result = load_ruleset(config)
    for message in result.warnings:
        log.warning("rules warning", detail=message.render_text())
    if not result.ok:
        for message in result.errors:
            log.error("rules error", detail=message.render_text())
        return 1
    log.info("rules loaded", rules=len(result.rules), enabled=sum(1 for r in result.rules if r.enabled))
    log.error(
        "event source not built yet",
        engine=config.engine.kind,
        detail="live eBPF capture and replay are not in this build; --dry-run, -V, -L and --list work",
    )
    return 1
