"""What each command-line mode does: version, field catalog, rule validation and listing, dry run, run.

Exit status: 0 success, 1 a problem with the input (bad config, rule errors), 2 bad usage (argparse).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import socket
import sys
from pathlib import Path

from config.load import ConfigError, load_config
from stages.plugins import spec as plugin_spec
from config.logs import configure as configure_logs
from config.logs import get_logger
from config.schema import Config

from stages import VERSION


def dispatch(args: argparse.Namespace) -> int:
    """Run the mode the flags ask for."""
    if args.version:
        return print_version()
    if args.list_fields is not None:
        return list_fields(args.list_fields or None)
    try:
        config = settings(args)
    except ConfigError as exc:
        print(f"saker: config error:\n{exc}", file=sys.stderr)
        return 1
    configure_logs(config.log_level)
    if args.filters or args.filters_file:
        return inspect(args)
    if args.validate:
        return validate(args.validate, config)
    if args.list_rules:
        return list_rules(config)
    if args.dry_run:
        return dry_run(config)
    if args.self_test:
        return self_test(config, args)
    if args.dump_bpf:
        return dump_bpf(config)
    return run(config, args)


def settings(args: argparse.Namespace) -> Config:
    """The config file with `-o` overrides; `-r` replaces rules_files."""
    overrides = list(args.overrides)
    if args.rules_files:
        overrides.append("rules_files=" + json.dumps(args.rules_files))
    if args.replay:
        overrides += ["engine.kind=replay", "engine.replay.path=" + args.replay]
    if args.capture:
        overrides += ["capture.enabled=true", "capture.path=" + args.capture]
    return load_config(args.config, overrides)


def print_version() -> int:
    from rules.loader import ENGINE_VERSION

    print(f"saker {VERSION} (rule engine {ENGINE_VERSION}, Falco rule language)")
    return 0


def list_fields(source: str | None) -> int:
    from rules.fields import REGISTRY, field_catalog_rows

    if source is not None and source not in REGISTRY.sources():
        print(f"saker: unknown event source {source!r}; known: {', '.join(REGISTRY.sources())}", file=sys.stderr)
        return 1
    current = None
    for name, type_name, flags, description, row_source in field_catalog_rows(source):
        if row_source != current:
            current = row_source
            print(f"# source: {current}")
        flag_text = f" [{flags}]" if flags else ""
        print(f"{name:<36} {type_name:<8}{flag_text} {description}")
    return 0


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def rules_paths(entries: list[str]) -> list[str]:
    """Files in order; a folder contributes its *.yaml / *.yml files in name order (as Falco does).

    A relative path is taken from the working directory, or else from Saker's own folder (so the shipped
    configs' `rules/default` works wherever run.py is started from).
    """
    paths: list[str] = []
    for entry in entries:
        path = Path(entry)
        if not path.is_absolute() and not path.exists() and (PROJECT_ROOT / path).exists():
            path = PROJECT_ROOT / path
        if path.is_dir():
            paths += sorted(str(p) for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            paths.append(str(path))
    return paths


def load_ruleset(config: Config, paths: list[str] | None = None):
    """Load the configured rules files with the config's selectors, minimum priority and append_output.

    The last load is reused while the files' bytes and those settings are the same: start-up asks for the
    rules three times (the check, the capture's field plan, the workers' compiled rules) and a reload asks
    once per process, and parsing and compiling a large rules file takes a good part of a second. The
    processes forked after a load inherit it; a changed file is read afresh by each."""
    return _load_unchanged(_fingerprint(rules_paths(paths if paths is not None else config.rules_files)),
                           tuple(_selector(s) for s in config.rules), config.priority,
                           tuple(a.extra_output for a in config.append_output if a.extra_output))


@functools.lru_cache(maxsize=1)
def _load_unchanged(files: tuple, selectors: tuple, priority: str, append_output: tuple):
    from rules.loader import load_rules

    return load_rules([name for name, _ in files], selectors=selectors, min_priority=priority,
                      append_output=append_output)


def _fingerprint(files: list[str]) -> tuple:
    """Each file's path and a digest of its bytes (None if unreadable: the load then reports it)."""
    marks = []
    for name in files:
        try:
            marks.append((name, hashlib.blake2b(Path(name).read_bytes(), digest_size=16).digest()))
        except OSError:
            marks.append((name, None))
    return tuple(marks)


def _selector(selection):
    from rules.selectors import Selector

    action = "enable" if selection.enable is not None else "disable"
    target = selection.enable or selection.disable
    return Selector(action, rule=target.rule, tag=target.tag)


def validate(files: list[str], config: Config) -> int:
    """`-V`: every error and warning of the given files; exit 1 if any error."""
    result = load_ruleset(config, files)
    if config.json_output:
        print(json.dumps(_load_result_json(files, result)))
    else:
        for message in [*result.errors, *result.warnings]:
            print(message.render_text())
        print(f"{', '.join(files)}: {'Ok' if result.ok else 'Invalid'}"
              f" ({len(result.errors)} errors, {len(result.warnings)} warnings)")
    return 0 if result.ok else 1


def _load_result_json(files: list[str], result) -> dict:
    return {
        "falco_load_results": [
            {
                "name": ", ".join(files),
                "successful": result.ok,
                "errors": [m.to_json() for m in result.errors],
                "warnings": [m.to_json() for m in result.warnings],
            }
        ]
    }


def list_rules(config: Config) -> int:
    """`-L`: the loaded rules, as a table or one JSON object per line."""
    result = load_ruleset(config)
    if not result.ok:
        for message in result.errors:
            print(message.render_text(), file=sys.stderr)
        return 1
    for rule in result.rules:
        if config.json_output:
            print(json.dumps({
                "rule": rule.name, "desc": rule.desc, "priority": rule.priority.canonical,
                "source": rule.source, "tags": list(rule.tags), "enabled": rule.enabled,
            }))
        else:
            print(f"{rule.name}\n    {rule.priority.canonical}  source={rule.source}  "
                  f"enabled={str(rule.enabled).lower()}  tags={','.join(rule.tags)}\n    {rule.desc.strip()}\n")
    return 0


def checked_rules(config: Config, log):
    """The configured rules, warnings logged; None (errors printed on stderr) if they do not load."""
    result = load_ruleset(config)
    for message in result.warnings:
        log.warning("rules warning", detail=message.render_text())
    if not result.ok:
        for message in result.errors:
            print(message.render_text(), file=sys.stderr)
        return None
    return result


def dry_run(config: Config) -> int:
    """`--dry-run`: load and check config and rules, start nothing."""
    log = get_logger("main")
    result = checked_rules(config, log)
    if result is None:
        return 1
    sources = [name for name, section in config.sources if section.enabled]
    for name in sources:
        try:
            plugin_spec(name).ingest(getattr(config.sources, name))  # builds and checks; starts nothing
        except (ValueError, OSError) as exc:
            log.error("event source misconfigured", source=name, detail=str(exc))
            return 1
    enabled = sum(1 for r in result.rules if r.enabled)
    log.info("dry run ok", rules_loaded=len(result.rules), rules_enabled=enabled, engine=config.engine.kind,
             sources=sources, workers=config.pipeline.workers or "auto", hostname=socket.gethostname())
    return 0


DEFAULT_PRINT_FORMAT = "*%evt.num %evt.time %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type"


def inspect(args: argparse.Namespace) -> int:
    """Inspection mode, like sysdig: count or print the events of a capture that match each filter."""
    from stages.inspect import count_filters, print_matches

    filters = list(args.filters or [])
    if args.filters_file:
        try:
            lines = Path(args.filters_file).read_text().splitlines()
        except OSError as exc:
            print(f"saker: cannot read --filters-file {args.filters_file}: {exc.strerror}", file=sys.stderr)
            return 1
        filters += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    try:
        if args.count:
            failed = False
            for count, text in zip(count_filters(args.replay, filters), filters):
                print(f"{count}\t{text}")
                failed |= isinstance(count, str)
            return 1 if failed else 0
        for text in filters:
            print_matches(args.replay, text, args.print_format or DEFAULT_PRINT_FORMAT, sys.stdout)
    except (OSError, ValueError) as exc:
        message = str(exc)  # named once: most messages name the input already
        print(f"saker: {message if message.startswith(args.replay) else f'{args.replay}: {message}'}",
              file=sys.stderr)
        return 1
    return 0


def dump_bpf(config: Config) -> int:
    """`--dump-bpf`: the probes' final C text, with this kernel's struct offsets (from BTF) filled in."""
    from kernel.loader import dump_bpf as probe_text

    print(probe_text(config.engine.ring_bytes))
    return 0


def self_test(config: Config, args: argparse.Namespace) -> int:
    """`--self-test`: the live sensor on this config, one harmless action per enabled rule, a fired/missed table."""
    from stages.selftest import self_test as run_self_test

    result = checked_rules(config, get_logger("main"))
    if result is None:
        return 1
    return run_self_test(args.config, [r.name for r in result.rules if r.enabled and r.source == "syscall"])


def run(config: Config, args: argparse.Namespace) -> int:
    """Start the sensor: capture, rule workers and outputs, until the source ends, -M passes or a signal."""
    from stages.sensor import run_sensor

    return run_sensor(config, duration=args.duration, config_path=args.config, reread=lambda: settings(args))
