"""The syscalls live capture can trace: their x86_64 numbers, the scap event each one becomes, how the probe
records it (`kernel/probes/syscalls.bpf.c` handler and string arguments) and which raw `arg.*` columns its
record fills.

Event ids, parameter names and kinds follow `kernel.scap.event_table` (exit events), so the state engine and
field extraction read live events exactly like replayed ones. Where the 0.29.3 table has no event of its own
for a syscall (chown family, prctl, capset, init_module, memfd_create...) the record is a generic event
(id 1, `arg.ID` = the PPM_SC code) whose `evt.type` is the syscall's name, as current Falco names it, with
the parameters current Falco gives that event. Parameters of the enter event that Falco now also puts on
the exit (`arg.fd` of connect, `arg.uid` of setuid, ...) are filled too: live capture emits exit events only.

Column sources: ``res`` (return value), ``aN`` (stashed argument N; after a colon the conversion, see
`kernel.convert`), ``s0``/``s1`` (the record's strings), plus whole-event decoders named by ``@...``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kernel.scap import event_table as et

NOARG = 255
# Per-syscall flags (struct conf.flags in the C code).
CF_SOCK_FD_RES = 1
CF_MSGHDR = 2
CF_CLONE3 = 4
CF_EXECAT = 8
CF_FCNTL_DUP = 16
CF_OPENAT2 = 32
CF_PIPE = 64
CF_CAPS = 128
CF_DATA = 256  # exit_sock: the call moves data through the buffer of argument 1
CF_DATA_OUT = 512  # the call writes its buffers (a write that failed shows what it was given)
CF_ADDRLEN_PTR = 1024  # the address length argument is a pointer to it (recvfrom)

SMALL, PATH, BIG, EXEC = "small", "path", "big", "exec"
HANDLER_RING = {"exit_small": SMALL, "exit_str": PATH, "exit_str2": BIG, "exit_sock": PATH, "exit_data": PATH,
                "exit_iov": BIG, "exit_clone": PATH, "exit_exec": EXEC}


@dataclass(frozen=True, slots=True)
class Syscall:
    name: str  # Linux name: tracepoints syscalls:sys_{enter,exit}_<name>; evt.type of generic events
    nr: int  # x86_64 syscall number
    event: int  # scap exit event id (1 = generic)
    handler: str  # exit program of the probe
    columns: tuple[tuple[str, str], ...] = ()
    strings: tuple[int, int, int] = (NOARG, NOARG, NOARG)  # argument index of s0, s1, s2 (or NOARG)
    flags: int = 0
    tracepoint: str = ""  # tracepoint suffix when it differs from the name (umount2 -> sys_exit_umount)

    @property
    def tp(self) -> str:
        return self.tracepoint or self.name

    @property
    def ring(self) -> str:
        return HANDLER_RING[self.handler]

    @property
    def type_name(self) -> str:
        """evt.type: the syscall's own name (dup2, accept4, umount2...), as current Falco names events."""
        return self.name


_CLONE_COLUMNS = (("arg.flags", "a0:clone"), ("arg.ptid", "a1:int"), ("arg.uid", "a2:u32"), ("arg.gid", "a3:u32"),
                  ("arg.loginuid", "a4:int32"), ("arg.vtid", "a5:u32"), ("arg.vpid", "a5:hi32"), ("arg.comm", "s0"),
                  ("arg.tid", "@tid"), ("arg.pid", "@pid"))
_EXEC_COLUMNS = (("arg.ptid", "a0:int"), ("arg.loginuid", "a1:int32"), ("arg.uid", "a2:u32"), ("arg.gid", "a3:u32"),
                 ("arg.tid", "@tid"), ("arg.pid", "@pid"), ("arg.exe", "@exec"))
_OPEN = (("arg.fd", "res"),)
# I/O calls: `arg.data` holds the first bytes they moved (kernel.records.SNAPLEN); vectored calls' `arg.size` is
# the total length of their iovecs, which the probe puts in register 5.
_IO = (("arg.res", "res"), ("arg.fd", "a0:int32"), ("arg.data", "@data"))
_IO_SIZE = _IO + (("arg.size", "a2:u32"),)
_IOV_SIZE = _IO + (("arg.size", "a5:u32"),)


def _s(name, nr, event, handler, columns=(), strings=(NOARG, NOARG, NOARG), flags=0, tracepoint="") -> Syscall:
    return Syscall(name, nr, event, handler, tuple(columns), tuple(strings), flags, tracepoint)


SYSCALLS: tuple[Syscall, ...] = (
    # processes
    _s("clone", 56, 223, "exit_clone", _CLONE_COLUMNS),
    _s("clone3", 435, 335, "exit_clone", _CLONE_COLUMNS, flags=CF_CLONE3),
    _s("fork", 57, 225, "exit_clone", _CLONE_COLUMNS),
    _s("vfork", 58, 227, "exit_clone", _CLONE_COLUMNS),
    _s("execve", 59, 293, "exit_exec", _EXEC_COLUMNS, strings=(0, NOARG, NOARG)),
    _s("execveat", 322, 331, "exit_exec", _EXEC_COLUMNS, strings=(1, NOARG, NOARG), flags=CF_EXECAT),
    # files
    _s("open", 2, 3, "exit_str", _OPEN + (("arg.name", "s0"), ("arg.flags", "a1:oflags"), ("arg.mode", "a2:mode")),
       (0, NOARG, NOARG)),
    _s("openat", 257, 307, "exit_str", _OPEN + (("arg.dirfd", "a0:int32"), ("arg.name", "s0"),
                                                  ("arg.flags", "a2:oflags"), ("arg.mode", "a3:mode")), (1, NOARG, NOARG)),
    _s("openat2", 437, 327, "exit_str", _OPEN + (("arg.dirfd", "a0:int32"), ("arg.name", "s0"),
                                                   ("arg.flags", "a2:oflags"), ("arg.mode", "a3:mode"),
                                                   ("arg.resolve", "a4:resolve")), (1, NOARG, NOARG), CF_OPENAT2),
    _s("creat", 85, 59, "exit_str", _OPEN + (("arg.name", "s0"), ("arg.mode", "a1:mode"), ("arg.flags", "@creat")),
       (0, NOARG, NOARG)),
    _s("close", 3, 5, "exit_small", (("arg.res", "res"), ("arg.fd", "a0:int32"))),
    _s("dup", 32, 125, "exit_small", (("arg.res", "res"), ("arg.oldfd", "a0:int32"))),
    _s("dup2", 33, 125, "exit_small", (("arg.res", "res"), ("arg.oldfd", "a0:int32"), ("arg.newfd", "a1:int32"))),
    _s("dup3", 292, 125, "exit_small", (("arg.res", "res"), ("arg.oldfd", "a0:int32"), ("arg.newfd", "a1:int32"),
                                        ("arg.flags", "a2:oflags"))),
    _s("fcntl", 72, 151, "exit_small", (("arg.res", "res"), ("arg.fd", "a0:int32"), ("arg.cmd", "a1:fcntl")),
       flags=CF_FCNTL_DUP),
    _s("pipe", 22, 61, "exit_small", (("arg.res", "res"), ("arg.fd1", "a2:int32"), ("arg.fd2", "a3:int32")),
       flags=CF_PIPE),
    _s("pipe2", 293, 1, "exit_small", (("arg.res", "res"), ("arg.fd1", "a2:int32"), ("arg.fd2", "a3:int32"),
                                       ("arg.flags", "a1:oflags")), flags=CF_PIPE),
    _s("unlink", 87, 301, "exit_str", (("arg.res", "res"), ("arg.path", "s0")), (0, NOARG, NOARG)),
    _s("unlinkat", 263, 303, "exit_str", (("arg.res", "res"), ("arg.dirfd", "a0:int32"), ("arg.name", "s0"),
                                          ("arg.flags", "a2:unlinkat")), (1, NOARG, NOARG)),
    _s("rename", 82, 175, "exit_str2", (("arg.res", "res"), ("arg.oldpath", "s0"), ("arg.newpath", "s1")),
       (0, 1, NOARG)),
    _s("renameat", 264, 177, "exit_str2", (("arg.res", "res"), ("arg.olddirfd", "a0:int32"), ("arg.oldpath", "s0"),
                                           ("arg.newdirfd", "a2:int32"), ("arg.newpath", "s1")), (1, 3, NOARG)),
    _s("renameat2", 316, 319, "exit_str2", (("arg.res", "res"), ("arg.olddirfd", "a0:int32"), ("arg.oldpath", "s0"),
                                            ("arg.newdirfd", "a2:int32"), ("arg.newpath", "s1"), ("arg.flags", "a4:u32")),
       (1, 3, NOARG)),
    _s("mkdir", 83, 277, "exit_str", (("arg.res", "res"), ("arg.path", "s0"), ("arg.mode", "a1:mode")),
       (0, NOARG, NOARG)),
    _s("mkdirat", 258, 305, "exit_str", (("arg.res", "res"), ("arg.dirfd", "a0:int32"), ("arg.path", "s0"),
                                         ("arg.mode", "a2:mode")), (1, NOARG, NOARG)),
    _s("rmdir", 84, 279, "exit_str", (("arg.res", "res"), ("arg.path", "s0")), (0, NOARG, NOARG)),
    _s("symlink", 88, 179, "exit_str2", (("arg.res", "res"), ("arg.target", "s0"), ("arg.linkpath", "s1")),
       (0, 1, NOARG)),
    _s("symlinkat", 266, 181, "exit_str2", (("arg.res", "res"), ("arg.target", "s0"), ("arg.linkdirfd", "a1:int32"),
                                            ("arg.linkpath", "s1")), (0, 2, NOARG)),
    _s("link", 86, 309, "exit_str2", (("arg.res", "res"), ("arg.oldpath", "s0"), ("arg.newpath", "s1")),
       (0, 1, NOARG)),
    _s("linkat", 265, 311, "exit_str2", (("arg.res", "res"), ("arg.olddir", "a0:int32"), ("arg.oldpath", "s0"),
                                         ("arg.newdir", "a2:int32"), ("arg.newpath", "s1"), ("arg.flags", "a4:linkat")),
       (1, 3, NOARG)),
    _s("chmod", 90, 315, "exit_str", (("arg.res", "res"), ("arg.filename", "s0"), ("arg.mode", "a1:mode")),
       (0, NOARG, NOARG)),
    _s("fchmod", 91, 317, "exit_small", (("arg.res", "res"), ("arg.fd", "a0:int32"), ("arg.mode", "a1:mode"))),
    _s("fchmodat", 268, 313, "exit_str", (("arg.res", "res"), ("arg.dirfd", "a0:int32"), ("arg.filename", "s0"),
                                          ("arg.mode", "a2:mode")), (1, NOARG, NOARG)),
    _s("chown", 92, 1, "exit_str", (("arg.path", "s0"), ("arg.uid", "a1:int32"), ("arg.gid", "a2:int32")),
       (0, NOARG, NOARG)),
    _s("lchown", 94, 1, "exit_str", (("arg.path", "s0"), ("arg.uid", "a1:int32"), ("arg.gid", "a2:int32")),
       (0, NOARG, NOARG)),
    _s("fchown", 93, 1, "exit_small", (("arg.fd", "a0:int32"), ("arg.uid", "a1:int32"), ("arg.gid", "a2:int32"))),
    _s("fchownat", 260, 1, "exit_str", (("arg.dirfd", "a0:int32"), ("arg.pathname", "s0"), ("arg.uid", "a2:int32"),
                                        ("arg.gid", "a3:int32"), ("arg.flags", "a4:u32")), (1, NOARG, NOARG)),
    _s("chdir", 80, 95, "exit_str", (("arg.res", "res"), ("arg.path", "s0")), (0, NOARG, NOARG)),
    _s("fchdir", 81, 97, "exit_small", (("arg.res", "res"), ("arg.fd", "a0:int32"))),
    _s("memfd_create", 319, 1, "exit_str", (("arg.name", "s0"), ("arg.flags", "a1:u32")), (0, NOARG, NOARG)),
    _s("mount", 165, 257, "exit_str2", (("arg.res", "res"), ("arg.dev.string", "s0"), ("arg.dir", "s1"),
                                        ("arg.type.string", "b0"), ("arg.flags", "a3:u32")), (0, 1, 2)),
    _s("umount2", 166, 259, "exit_str", (("arg.res", "res"), ("arg.name", "s0"), ("arg.flags", "a1:u32")),
       (0, NOARG, NOARG), tracepoint="umount"),
    # network
    _s("socket", 41, 19, "exit_small", (("arg.fd", "res"), ("arg.domain", "a0:u32"), ("arg.type", "a1:u32"),
                                        ("arg.proto", "a2:u32"))),
    _s("connect", 42, 23, "exit_sock", (("arg.res", "res"), ("arg.fd", "a0:int32"), ("arg.tuple", "@tuple_out"),
                                        ("arg.addr.bytes", "@sockaddr")), (1, 2, NOARG)),
    _s("accept", 43, 247, "exit_sock", (("arg.fd", "res"), ("arg.tuple", "@tuple_in")), flags=CF_SOCK_FD_RES),
    _s("accept4", 288, 249, "exit_sock", (("arg.fd", "res"), ("arg.tuple", "@tuple_in"), ("arg.flags", "a3:u32")),
       flags=CF_SOCK_FD_RES),
    _s("bind", 49, 21, "exit_sock", (("arg.res", "res"), ("arg.fd", "a0:int32"), ("arg.addr.bytes", "@sockaddr")),
       (1, 2, NOARG)),
    _s("listen", 50, 25, "exit_small", (("arg.res", "res"), ("arg.fd", "a0:int32"), ("arg.backlog", "a1:u32"))),
    _s("sendto", 44, 31, "exit_sock", _IO_SIZE + (("arg.tuple", "@tuple_dest"),), (4, 5, NOARG),
       CF_DATA | CF_DATA_OUT),
    _s("sendmsg", 46, 49, "exit_iov", _IOV_SIZE + (("arg.tuple", "@tuple_dest"),), (1, NOARG, NOARG),
       CF_MSGHDR | CF_DATA_OUT),
    _s("recvfrom", 45, 35, "exit_sock", _IO_SIZE + (("arg.tuple", "@tuple_from"),), (4, 5, NOARG),
       CF_DATA | CF_ADDRLEN_PTR),
    _s("recvmsg", 47, 53, "exit_iov", _IOV_SIZE + (("arg.tuple", "@tuple_from"),), (1, NOARG, NOARG), CF_MSGHDR),
    # read/write family: traced only when a rule names them (they are not in the state engine's base set)
    _s("read", 0, 7, "exit_data", _IO_SIZE),
    _s("write", 1, 9, "exit_data", _IO_SIZE, flags=CF_DATA_OUT),
    _s("pread", 17, 113, "exit_data", _IO_SIZE + (("arg.pos", "a3:int"),), tracepoint="pread64"),
    _s("pwrite", 18, 115, "exit_data", _IO_SIZE + (("arg.pos", "a3:int"),), flags=CF_DATA_OUT,
       tracepoint="pwrite64"),
    _s("readv", 19, 117, "exit_iov", _IOV_SIZE),
    _s("writev", 20, 119, "exit_iov", _IOV_SIZE, flags=CF_DATA_OUT),
    _s("preadv", 295, 121, "exit_iov", _IOV_SIZE + (("arg.pos", "a3:int"),)),
    _s("pwritev", 296, 123, "exit_iov", _IOV_SIZE + (("arg.pos", "a3:int"),), flags=CF_DATA_OUT),
    # identity, privileges, namespaces, kernel
    _s("setuid", 105, 199, "exit_small", (("arg.res", "res"), ("arg.uid", "a0:u32"))),
    _s("setgid", 106, 201, "exit_small", (("arg.res", "res"), ("arg.gid", "a0:u32"))),
    _s("setresuid", 117, 193, "exit_small", (("arg.res", "res"), ("arg.ruid", "a0:u32"), ("arg.euid", "a1:u32"),
                                             ("arg.suid", "a2:u32"))),
    _s("setresgid", 119, 195, "exit_small", (("arg.res", "res"), ("arg.rgid", "a0:u32"), ("arg.egid", "a1:u32"),
                                             ("arg.sgid", "a2:u32"))),
    _s("ptrace", 101, 169, "exit_small", (("arg.res", "res"), ("arg.request", "a0:ptrace"), ("arg.pid", "a1:int32"))),
    _s("kill", 62, 129, "exit_small", (("arg.res", "res"), ("arg.pid", "a0:int32"), ("arg.sig", "a1:u32"))),
    _s("prctl", 157, 1, "exit_small", (("arg.option", "a0:u32"), ("arg.arg2_int", "a1:int"))),
    _s("capset", 126, 1, "exit_small", (("arg.res", "res"), ("arg.cap_inheritable", "a0"),
                                        ("arg.cap_permitted", "a1"), ("arg.cap_effective", "a2")), flags=CF_CAPS),
    _s("setns", 308, 241, "exit_small", (("arg.res", "res"), ("arg.fd", "a0:int32"), ("arg.nstype", "a1:clone"))),
    _s("unshare", 272, 285, "exit_small", (("arg.res", "res"), ("arg.flags", "a0:clone"))),
    _s("userfaultfd", 323, 321, "exit_small", (("arg.res", "res"), ("arg.flags", "a0:oflags"))),
    _s("bpf", 321, 297, "exit_small", (("arg.cmd", "a0:int"),)),
    _s("init_module", 175, 1, "exit_small", (("arg.length", "a1:int"),)),
    _s("finit_module", 313, 1, "exit_small", (("arg.fd", "a0:int32"), ("arg.flags", "a2:u32"))),
)
BY_NAME: dict[str, Syscall] = {s.name: s for s in SYSCALLS}
BY_NR: dict[int, Syscall] = {s.nr: s for s in SYSCALLS}
PROCEXIT = "procexit"  # sched:sched_process_exit, always traced (threads must end)

# What the state engine needs whatever the rules say (Falco's base_syscalls idea): thread creation and
# exec, the fd table (creation, duplication, close, socket addresses), the working directory, the user and the
# capability sets.
STATE_SYSCALLS = frozenset({
    "clone", "clone3", "fork", "vfork", "execve", "execveat", "open", "openat", "openat2", "creat", "close",
    "dup", "dup2", "dup3", "fcntl", "pipe", "pipe2", "socket", "connect", "accept", "accept4", "bind", "chdir",
    "fchdir", "memfd_create", "setuid", "setresuid", "setgid", "setresgid", "capset",
})
# base_syscalls.repair: the smallest set that keeps process and fd state right.
REPAIR_SYSCALLS = frozenset({"clone", "clone3", "fork", "vfork", "execve", "execveat", "close", "dup", "dup2", "dup3"})
# Rule event type names that stand for one of our syscalls under another name.
_ALIASES = {"umount": "umount2"}


def needed_syscalls(rule_event_types: Iterable[str] | None, base_syscalls: object | None = None) -> frozenset[str]:
    """The syscalls to trace: those the loaded rules name plus the state engine's base set.

    `rule_event_types` is the union of the rules' event types (None = some rule matches every type: trace
    everything supported). `base_syscalls` is the config section (`custom_set`, `repair`, `all`): a custom set
    replaces the state base set, names prefixed with `!` are never traced, `repair` uses the minimal state set,
    `all` traces every supported syscall. Names this capture cannot trace are ignored.
    """
    custom = list(getattr(base_syscalls, "custom_set", []) or [])
    excluded = {name[1:] for name in custom if name.startswith("!")}
    added = {name for name in custom if not name.startswith("!")}
    if getattr(base_syscalls, "all", False) or rule_event_types is None:
        wanted = set(BY_NAME)
    else:
        wanted = {_ALIASES.get(name, name) for name in rule_event_types}
    if added:
        base = added
    elif getattr(base_syscalls, "repair", False):
        base = set(REPAIR_SYSCALLS)
    else:
        base = set(STATE_SYSCALLS)
    return frozenset(name for name in (wanted | base) - excluded if name in BY_NAME)


def sc_code(name: str) -> int:
    """The PPM_SC code of a syscall name (`arg.ID` of generic events); 0 (`<unknown>`) when unlisted."""
    return _SC_CODES.get(name, 0)


_SC_CODES = {name: code for code, name in reversed(list(enumerate(et.SYSCALL_NAMES)))}
