"""Saker: a runtime-security sensor in the spirit of Falco.

    .venv/bin/python run.py [-c CONFIG] [-r RULES ...] [-o key=value ...] [mode flags]

Flags follow Falco's where Falco has them (-c, -r, -o, -L, --list, -V, -M, -U, --dry-run, --version);
Saker adds --replay, --capture and a sysdig-like inspection mode (--filter/--filters-file with -p or --count).
This module only parses the command line; the work is done in `stages`.
"""

from __future__ import annotations

import argparse
import signal
import sys

from stages import commands

EPILOG = """examples:
  run.py                                   live sensor on config/default.yaml
  run.py -c config/prod.yaml               busy hosts
  run.py -V my_rules.yaml                  check a rules file, print every error and warning
  run.py -r rules.yaml -L -o json_output=true
  run.py --list syscall                    the field catalog
  run.py --replay capture/ -c config/replay.yaml
  run.py --replay trace.scap --filter 'evt.type=execve' -p '%proc.name %proc.cmdline'
"""


class OneLineParser(argparse.ArgumentParser):
    """Bad usage is one line naming the flag, exit status 2 (not argparse's usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="saker",
        description="Runtime security sensor: Falco's rule language over eBPF syscall events.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-c", "--config", default="config/default.yaml", metavar="FILE",
                        help="configuration file (default: %(default)s)")
    parser.add_argument("-r", dest="rules_files", action="append", metavar="FILE",
                        help="rules file or folder; repeatable; replaces the config's rules_files")
    parser.add_argument("-o", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key by path (e.g. -o json_output=true); repeatable")
    parser.add_argument("-L", dest="list_rules", action="store_true",
                        help="list the loaded rules (one JSON object per line with -o json_output=true)")
    parser.add_argument("--list", dest="list_fields", nargs="?", const="", metavar="SOURCE",
                        help="print the field catalog, of one event source or all")
    parser.add_argument("-V", "--validate", action="append", metavar="FILE",
                        help="load and check rules files, print every error and warning; repeatable")
    parser.add_argument("-M", dest="duration", type=_positive_seconds, metavar="SECONDS",
                        help="stop cleanly after SECONDS")
    parser.add_argument("-U", dest="unbuffered", action="store_true", help="unbuffered output")
    parser.add_argument("--dry-run", action="store_true", help="load and check everything, start nothing")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--replay", metavar="PATH", help="replay an Arrow capture (file or folder) or a .scap file")
    parser.add_argument("--self-test", action="store_true",
                        help="start the live sensor, trigger every loaded rule harmlessly, report which fired")
    parser.add_argument("--dump-bpf", action="store_true",
                        help="print the eBPF C program live capture would load on this kernel, then exit")
    parser.add_argument("--capture", metavar="PATH", help="also write every captured event to Arrow files here")
    parser.add_argument("--filter", dest="filters", action="append", metavar="EXPR",
                        help="inspection mode: a filter expression; repeatable")
    parser.add_argument("--filters-file", metavar="FILE", help="inspection mode: one filter per line")
    inspect = parser.add_mutually_exclusive_group()
    inspect.add_argument("-p", dest="print_format", metavar="FORMAT",
                         help="inspection mode: print each matching event with a %%field format")
    inspect.add_argument("--count", action="store_true",
                         help="inspection mode: print '<count>\\t<filter>' per filter, then exit")
    return parser


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"seconds must be positive: {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `run.py -L | head` ends quietly, like any Unix tool
    parser = build_parser()
    args = parser.parse_args(argv)
    inspecting = bool(args.filters or args.filters_file)
    if (args.print_format or args.count) and not inspecting:
        parser.error("argument -p/--count: needs --filter or --filters-file")
    if inspecting and not args.replay:
        parser.error("argument --filter/--filters-file: needs --replay PATH")
    if args.unbuffered:
        sys.stdout.reconfigure(line_buffering=True)
    return commands.dispatch(args)


if __name__ == "__main__":
    sys.exit(main())
