"""Compile the probes with BCC, fill their configuration, attach them, and take them all down again.

`probe_source(...)` is the exact C text handed to BCC (the `--dump-bpf` view): `#define` lines for the kernel
struct offsets, sizes and cgroup controller count (from BTF, `kernel.btf`), the ring sizes and the record
sizes of `kernel.records`, then `kernel/probes/syscalls.bpf.c` unchanged.
`Probes.load(...)` compiles it, writes each traced syscall's configuration (event id, string arguments,
flags) into the `conf` map, registers the pids to ignore, and attaches `on_enter` to
`syscalls:sys_enter_<name>` and the syscall's exit handler to `syscalls:sys_exit_<name>`; the sched
tracepoints (exec path, process exit, fork-following of ignored pids) are attached by BCC itself.
`Probes.close()` detaches and unloads everything (also on errors half-way through loading).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import platform
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kernel import btf
from kernel.records import LAYOUTS
from kernel.syscalls import BY_NAME, Syscall

PROBE_FILE = Path(__file__).resolve().parent / "probes" / "syscalls.bpf.c"
PAGE = os.sysconf("SC_PAGE_SIZE")
# The path and small rings' size (engine.ring_bytes): 8 MiB each, as Falco's default buffer per CPU. The kernel
# writes a ring all the way round, so all of it becomes resident under load; the path ring holds ~24,000
# records, a quarter of a second of opens at 100 k/s, many times what a batch takes to process.
DEFAULT_RING_BYTES = 8 << 20
DETACH_THREADS = 8  # see Probes.close
TRACEFS_ROOTS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
IGNORE, IGNORE_WITH_CHILDREN = 1, 2


class CaptureUnavailable(RuntimeError):
    """Live capture cannot run here; the message names what is missing and how to get it."""


def check_requirements() -> None:
    """Raise CaptureUnavailable naming the first missing piece (root, BCC, BTF, headers, tracefs)."""
    setup = "run ./saker run (it runs scripts/setup.sh as root) or: sudo scripts/setup.sh"
    if os.geteuid() != 0:
        raise CaptureUnavailable("live eBPF capture needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN): run as root")
    # Found, not imported: importing bcc maps libbcc (LLVM, ~60 MB resident) into this process and every
    # process it forks (the supervisor's workers and outputs); only the capture process needs it.
    if importlib.util.find_spec("bcc") is None or ctypes.util.find_library("bcc") is None:
        raise CaptureUnavailable("BCC's Python module is missing: apt-get install -y python3-bpfcc, then "
                                 f"recreate the venv so it sees Debian's packages ({setup})")
    if not btf.VMLINUX.exists():
        raise CaptureUnavailable(f"{btf.VMLINUX} is missing: the kernel must be built with CONFIG_DEBUG_INFO_BTF=y")
    build = Path("/lib/modules", platform.release(), "build")
    if not (build / "Makefile").exists():
        raise CaptureUnavailable(f"kernel headers are missing ({build}): apt-get install -y linux-headers-amd64 "
                                 f"and link them ({setup})")
    if tracefs() is None:
        raise CaptureUnavailable(f"tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing ({setup})")


COMPILER_LIBRARIES = ("libLLVM", "libclang")
MADV_DONTNEED = 4


def _release_compiler_memory() -> None:
    """Give back what compiling the probes took: the heap clang/LLVM freed (glibc keeps it otherwise) and the
    pages of their machine code, which the capture process never runs again. Only executable, read-only file
    mappings are dropped: their pages are the file's own, and the kernel maps them in again from the file
    if they are ever used. (Read-only data is not: relocated data, made read-only after the dynamic linker
    wrote it, would revert to the file's bytes.)"""
    libc_path = ctypes.util.find_library("c")
    if not libc_path:
        return
    libc = ctypes.CDLL(libc_path, use_errno=True)
    libc.malloc_trim(0)
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    for start, end in _code_mappings(COMPILER_LIBRARIES):
        libc.madvise(start, end - start, MADV_DONTNEED)


def _code_mappings(names: tuple[str, ...]) -> list[tuple[int, int]]:
    """Address ranges of this process's executable read-only (r-xp) mappings of files whose name holds one
    of `names`, from /proc/self/maps."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) < 6 or fields[1] != "r-xp":
                continue
            if any(name in Path(fields[5]).name for name in names):
                start, end = (int(part, 16) for part in fields[0].split("-"))
                ranges.append((start, end))
    return ranges


def tracefs() -> Path | None:
    for root in TRACEFS_ROOTS:
        if (root / "events" / "syscalls").is_dir():
            return root
    return None


def ring_pages(ring_bytes: int) -> dict[str, int]:
    """Pages of each ring: the path and small rings get `ring_bytes`, the (rare) big and exec records a quarter."""
    pages = max(ring_bytes // PAGE, 1)
    rare = max(pages // 4, 256)
    return {"small": pages, "path": pages, "big": rare, "exec": rare}


def probe_source(constants: dict[str, int] | None = None, ring_bytes: int = DEFAULT_RING_BYTES) -> str:
    """The C text BCC compiles: generated #define lines, then the probe file. `constants`: the kernel's
    (`kernel.btf.probe_constants`), read from the running kernel when not given."""
    constants = constants if constants is not None else btf.probe_constants()
    pages = ring_pages(ring_bytes)
    lines = ["// Generated by kernel/loader.py: offsets and sizes from the running kernel's BTF, ring sizes in pages,",
             "// record sizes of kernel/records.py."]
    lines += [f"#define {name} {value}" for name, value in sorted(constants.items())]
    lines += [f"#define RING_{ring.upper()}_PAGES {count}" for ring, count in sorted(pages.items())]
    lines += [f"#define REC_SIZE_{ring.upper()} {layout.size}" for ring, layout in sorted(LAYOUTS.items())]
    return "\n".join(lines) + "\n\n" + PROBE_FILE.read_text()


def _tracepoint_exists(root: Path, name: str) -> bool:
    return (root / "events" / "syscalls" / f"sys_exit_{BY_NAME[name].tp}").is_dir()


@dataclass
class Probes:
    """Loaded and attached probes (a `bcc.BPF`), with the ring map fds for the reader and the names of the
    cgroup controllers by id (what exec records' cgroup slots are)."""

    bpf: object
    traced: tuple[str, ...]
    missing: tuple[str, ...]
    ring_bytes: dict[str, int] = field(default_factory=dict)
    cgroup_subsystems: tuple[str, ...] = ()

    @classmethod
    def load(cls, syscalls: Iterable[str], *, ring_bytes: int = DEFAULT_RING_BYTES, ignore: Iterable[int] = (),
             ignore_with_children: Iterable[int] = ()) -> "Probes":
        check_requirements()
        from bcc import BPF

        root = tracefs()
        wanted = sorted(set(syscalls))
        present = tuple(name for name in wanted if _tracepoint_exists(root, name))
        missing = tuple(name for name in wanted if name not in present)
        kernel_btf = btf.Btf.from_kernel()
        constants, subsystems = btf.probe_constants(kernel_btf), btf.cgroup_subsystems(kernel_btf)
        del kernel_btf  # ~30 MB of parsed types: freed before clang's peak, not kept by the capture process
        bpf = BPF(text=probe_source(constants, ring_bytes).encode(), cflags=["-Wno-macro-redefined"])
        _release_compiler_memory()
        pages = ring_pages(ring_bytes)
        probes = cls(bpf, present, missing, {ring: count * PAGE for ring, count in pages.items()}, subsystems)
        try:
            probes.ignore(ignore, IGNORE)
            probes.ignore(ignore_with_children, IGNORE_WITH_CHILDREN)
            for name in present:
                probes._configure(BY_NAME[name])
            for name in present:
                spec = BY_NAME[name]
                bpf.attach_tracepoint(tp=f"syscalls:sys_enter_{spec.tp}".encode(), fn_name=b"on_enter")
                bpf.attach_tracepoint(tp=f"syscalls:sys_exit_{spec.tp}".encode(), fn_name=spec.handler.encode())
        except BaseException:
            probes.close()
            raise
        return probes

    def _configure(self, spec: Syscall) -> None:
        table = self.bpf[b"conf"]
        leaf = table.Leaf()
        leaf.evt = spec.event
        leaf.s0, leaf.s1, leaf.s2 = spec.strings
        leaf.flags = spec.flags
        table[ctypes.c_int(spec.nr)] = leaf

    def ignore(self, pids: Iterable[int], mode: int = IGNORE) -> None:
        """Skip every event of these processes (tgids) in the kernel; mode 2 also skips their future children."""
        table = self.bpf[b"ignored"]
        for pid in pids:
            table[ctypes.c_uint32(pid)] = ctypes.c_uint8(mode)

    def ring_fd(self, ring: str) -> int:
        return self.bpf[f"ring_{ring}".encode()].map_fd

    def counters_table(self):
        return self.bpf[b"counters"]

    def close(self) -> None:
        """Detach every probe and free the programs and maps.

        Each tracepoint's detach waits for the kernel to be done with its probe (~70 ms here), and about half of
        that wait overlaps when several detach at once: 121 tracepoints take 8.7 s one by one, 4.3 s on 8
        threads (more threads do no better). Whatever a thread could not detach, `cleanup` detaches after."""
        bpf, self.bpf = self.bpf, None
        if bpf is None:
            return
        try:
            with ThreadPoolExecutor(max_workers=DETACH_THREADS, thread_name_prefix="saker-detach") as pool:
                list(pool.map(bpf.detach_tracepoint, list(bpf.tracepoint_fds)))
        finally:
            bpf.cleanup()


def dump_bpf(ring_bytes: int = DEFAULT_RING_BYTES) -> str:
    """The final C text of the probes for this kernel (what `saker --dump-bpf` prints)."""
    return probe_source(ring_bytes=ring_bytes)

