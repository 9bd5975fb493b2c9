"""The command line, run for real: help, version, usage errors, config errors, overrides, dry run."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT


class TestUsage:
    def test_help(self, saker) -> None:
        """--help documents Falco's flags and Saker's own."""
        proc = saker("--help")
        assert proc.returncode == 0
        for flag in ("-c", "-r", "-o", "-L", "--list", "-V", "-M", "-U", "--dry-run", "--version",
                     "--replay", "--capture", "--filter", "--filters-file", "-p", "--count", "--self-test",
                     "--dump-bpf"):
            assert f" {flag}" in proc.stdout, flag

    def test_version(self, saker) -> None:
        """--version prints the version and the rule engine version."""
        proc = saker("--version")
        assert proc.returncode == 0
        assert proc.stdout.startswith("saker 0.1.0 (rule engine 0.63.0")

    def test_bad_flag(self, saker) -> None:
        """An unknown flag: one line naming it, exit 2."""
        proc = saker("--frobnicate")
        assert proc.returncode == 2
        assert proc.stderr == "saker: error: unrecognized arguments: --frobnicate\n"

    def test_bad_flag_value(self, saker) -> None:
        """A bad value for -M names the flag, exit 2."""
        proc = saker("-M", "soon")
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1
        assert "argument -M" in proc.stderr

    def test_count_needs_filter(self, saker) -> None:
        """--count without a filter is a usage error."""
        proc = saker("--count")
        assert proc.returncode == 2
        assert "--count" in proc.stderr or "-p/--count" in proc.stderr


class TestConfigErrors:
    def test_unknown_key(self, saker, tmp_path: Path) -> None:
        """An unknown config key: the key and its line are named, exit 1, nothing starts."""
        config = tmp_path / "bad.yaml"
        config.write_text("json_output: true\nstdout_outptu:\n  enabled: true\n")
        proc = saker("-c", str(config), "--dry-run")
        assert proc.returncode == 1
        assert f"{config}:2:1: unknown config key 'stdout_outptu'" in proc.stderr

    def test_wrong_type(self, saker, tmp_path: Path) -> None:
        """A wrong type: key and line named, exit 1."""
        config = tmp_path / "bad.yaml"
        config.write_text("webserver:\n  listen_port: http\n")
        proc = saker("-c", str(config), "--dry-run")
        assert proc.returncode == 1
        assert f"{config}:2:3: bad value for 'webserver.listen_port'" in proc.stderr

    def test_bad_override(self, saker) -> None:
        """A bad -o value names the flag; exit 1."""
        proc = saker("--dry-run", "-o", "pipeline.workers=-1")
        assert proc.returncode == 1
        assert "-o pipeline.workers=-1: bad value for 'pipeline.workers'" in proc.stderr


class TestDryRun:
    def test_default_config(self, saker) -> None:
        """--dry-run on the default config checks config and rules and exits 0."""
        proc = saker("--dry-run")
        assert proc.returncode == 0, proc.stderr
        line = json.loads(proc.stderr.strip().splitlines()[-1])
        assert line["event"] == "dry run ok"
        assert line["engine"] == "ebpf"

    def test_every_shipped_config(self, saker, tmp_path: Path) -> None:
        """Each config in config/ passes --dry-run, also when run.py is started from another folder."""
        for name in ("default", "prod", "replay"):
            proc = saker("--dry-run", "-c", str(ROOT / "config" / f"{name}.yaml"), "-o", "log_level=info", cwd=tmp_path)
            assert proc.returncode == 0, (name, proc.stderr)
            assert json.loads(proc.stderr.strip().splitlines()[-1])["rules_loaded"] > 0

    def test_overrides_typed(self, saker, stable_rules: Path) -> None:
        """-o values reach the sensor typed by the schema (workers as an int, rules from -r)."""
        proc = saker("--dry-run", "-r", str(stable_rules), "-o", "pipeline.workers=3", "-o", "log_level=debug")
        assert proc.returncode == 0, proc.stderr
        line = json.loads(proc.stderr.strip().splitlines()[-1])
        assert line["workers"] == 3
        assert line["rules_loaded"] == 25

    def test_logs_are_json_lines(self, saker) -> None:
        """Off a terminal, every log line on stderr is a JSON object with level and timestamp."""
        proc = saker("--dry-run")
        for text in proc.stderr.strip().splitlines():
            record = json.loads(text)
            assert {"event", "level", "timestamp"} <= record.keys()


def test_dump_bpf(saker) -> None:
    """--dump-bpf prints the probe program with its ring buffers, exit 0."""
    proc = saker("--dump-bpf")
    assert proc.returncode == 0, proc.stderr
    assert "BPF_RINGBUF_OUTPUT(ring_small" in proc.stdout
    assert "TRACEPOINT_PROBE" in proc.stdout or "tracepoint" in proc.stdout


def test_ci_runs_readme_test_command() -> None:
    """.ci/run calls the README's test command."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./saker test" in readme and "./saker run" in readme
    assert "./saker test" in ci
