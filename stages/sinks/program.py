"""Alerts piped to a program's standard input (Falco's program_output), one line per alert.

`keep_alive: true` starts the command once (through the shell, so pipelines work) and writes every alert to
the same pipe; if the program has died it is started again before the next write, and a write that hits a
closed pipe is retried once on a fresh process. `keep_alive: false` starts the command for each alert, writes
the line, closes its stdin and waits for it, like Falco; a non-zero exit status counts as a failed delivery.
`reopen()` (SIGUSR1) ends the long-lived process so the next alert starts a new one.
"""

from __future__ import annotations

import subprocess
from typing import Any

from stages.alert import Alert
from stages.sinks.base import Sink, SinkError

_EXIT_WAIT_SECONDS = 30.0


class ProgramSink(Sink):
    """The command line in `program` (run by /bin/sh)."""

    name = "program"

    def __init__(self, settings: Any, config: Any) -> None:
        super().__init__(settings, config)
        self.program = settings.program
        self._process: subprocess.Popen[bytes] | None = None
        self.spawned = 0

    def deliver(self, alerts: list[Alert]) -> None:
        json_output = self.config.json_output
        lines = [(alert.render(self.config, json_output=json_output) + "\n").encode("utf-8", "replace")
                 for alert in alerts]
        for done, line in enumerate(lines):
            try:
                if self.settings.keep_alive:
                    self._write_kept(line)
                else:
                    self._run_once(line)
            except (OSError, subprocess.SubprocessError) as exc:
                raise SinkError(f"program output: {type(exc).__name__}: {exc}", delivered=done) from None
        if self.settings.keep_alive and self._process is not None and not self.config.buffered_outputs:
            self._flush()

    def reopen(self) -> None:
        self._stop()

    def secrets(self) -> tuple[str, ...]:
        # Falco's own example pipes to curl with a Slack webhook URL: the command line is a secret.
        return (self.program,)

    def close(self) -> None:
        self._stop()

    # ------------------------------------------------------------------ helpers

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.spawned += 1
        return subprocess.Popen(self.program, shell=True, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

    def _write_kept(self, line: bytes) -> None:
        for attempt in (1, 2):
            if self._process is None or self._process.poll() is not None:
                self._reap()
                self._process = self._spawn()
            try:
                self._process.stdin.write(line)
                if not self.config.buffered_outputs:
                    self._process.stdin.flush()
                return
            except BrokenPipeError:
                self._reap()
                if attempt == 2:
                    raise

    def _flush(self) -> None:
        try:
            self._process.stdin.flush()
        except BrokenPipeError as exc:
            self._reap()
            raise SinkError(f"program output: the program exited before reading: {exc}") from None

    def _run_once(self, line: bytes) -> None:
        process = self._spawn()
        try:
            process.communicate(line, timeout=_EXIT_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        if process.returncode != 0:
            raise subprocess.SubprocessError(f"the program exited with status {process.returncode}")

    def _reap(self) -> None:
        """Forget a dead (or dying) process, collecting its exit status."""
        self._close(wait_seconds=1)

    def _stop(self) -> None:
        """Close the pipe and let the program finish what it read."""
        self._close(wait_seconds=_EXIT_WAIT_SECONDS)

    def _close(self, wait_seconds: float) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.stdin.close()
        except OSError:
            pass  # the program already closed its end
        try:
            process.wait(timeout=wait_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
