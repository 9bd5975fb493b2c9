"""What the scap schema attaches to parameters: flag name tables, dynamic value types and signal names.

A flags parameter (``PT_FLAGS8/16/32``, ``PT_MODE``) points at one name table of the driver
(``ppm_name_value``); the values are the driver's portable ``PPM_*`` encoding, not the kernel's. The order
of a table matters: libsinsp walks it in order when it renders a value (see ``stages.state.paramtext``).
Tables and their order are restated from the driver of the libs that Debian's sysdig 0.29.3 is built from;
``table_for(event, param)`` gives the table of one parameter, None where the schema attaches none (the
value then prints as a bare number, like ``eventfd``'s ``flags``).

A dynamic parameter (``PT_DYN``: setsockopt's ``val``, ptrace's ``addr``/``data``, bpf's result) starts with
one byte that selects the type of the rest from a short list (``DYN_TYPES``).
"""

from __future__ import annotations

from kernel.scap import event_table as et

NameTable = tuple[tuple[str, int], ...]

SOCKET_FAMILIES: NameTable = (
    ("AF_NFC", 39), ("AF_ALG", 38), ("AF_CAIF", 37), ("AF_IEEE802154", 36), ("AF_PHONET", 35), ("AF_ISDN", 34),
    ("AF_RXRPC", 33), ("AF_IUCV", 32), ("AF_BLUETOOTH", 31), ("AF_TIPC", 30), ("AF_CAN", 29), ("AF_LLC", 26),
    ("AF_WANPIPE", 25), ("AF_PPPOX", 24), ("AF_IRDA", 23), ("AF_SNA", 22), ("AF_RDS", 21), ("AF_ATMSVC", 20),
    ("AF_ECONET", 19), ("AF_ASH", 18), ("AF_PACKET", 17), ("AF_ROUTE", 16), ("AF_NETLINK", 16), ("AF_KEY", 15),
    ("AF_SECURITY", 14), ("AF_NETBEUI", 13), ("AF_DECnet", 12), ("AF_ROSE", 11), ("AF_INET6", 10), ("AF_X25", 9),
    ("AF_ATMPVC", 8), ("AF_BRIDGE", 7), ("AF_NETROM", 6), ("AF_APPLETALK", 5), ("AF_IPX", 4), ("AF_AX25", 3),
    ("AF_INET", 2), ("AF_LOCAL", 1), ("AF_UNIX", 1), ("AF_UNSPEC", 0),
)
FILE_FLAGS: NameTable = (
    ("O_LARGEFILE", 1 << 11), ("O_DIRECTORY", 1 << 10), ("O_DIRECT", 1 << 9), ("O_TRUNC", 1 << 8), ("O_SYNC", 1 << 7),
    ("O_NONBLOCK", 1 << 6), ("O_EXCL", 1 << 5), ("O_DSYNC", 1 << 4), ("O_APPEND", 1 << 3), ("O_CREAT", 1 << 2),
    ("O_RDWR", 3), ("O_WRONLY", 1 << 1), ("O_RDONLY", 1 << 0), ("O_CLOEXEC", 1 << 12), ("O_NONE", 0),
    ("O_TMPFILE", 1 << 13),
)
FLOCK_FLAGS: NameTable = (("LOCK_SH", 1), ("LOCK_EX", 2), ("LOCK_NB", 4), ("LOCK_UN", 8), ("LOCK_NONE", 0))
CLONE_FLAGS: NameTable = (
    ("CLONE_FILES", 1 << 0), ("CLONE_FS", 1 << 1), ("CLONE_IO", 1 << 2), ("CLONE_NEWIPC", 1 << 3),
    ("CLONE_NEWNET", 1 << 4), ("CLONE_NEWNS", 1 << 5), ("CLONE_NEWPID", 1 << 6), ("CLONE_NEWUTS", 1 << 7),
    ("CLONE_PARENT", 1 << 8), ("CLONE_PARENT_SETTID", 1 << 9), ("CLONE_PTRACE", 1 << 10), ("CLONE_SIGHAND", 1 << 11),
    ("CLONE_SYSVSEM", 1 << 12), ("CLONE_THREAD", 1 << 13), ("CLONE_UNTRACED", 1 << 14), ("CLONE_VM", 1 << 15),
    ("CLONE_INVERTED", 1 << 16), ("NAME_CHANGED", 1 << 17), ("CLOSED", 1 << 18), ("CLONE_NEWUSER", 1 << 20),
    ("CLONE_CHILD_CLEARTID", 1 << 23), ("CLONE_CHILD_SETTID", 1 << 24), ("CLONE_SETTLS", 1 << 25),
    ("CLONE_STOPPED", 1 << 26), ("CLONE_VFORK", 1 << 27), ("CLONE_NEWCGROUP", 1 << 28),
)
FUTEX_OPERATIONS: NameTable = (
    ("FUTEX_CLOCK_REALTIME", 256), ("FUTEX_PRIVATE_FLAG", 128), ("FUTEX_CMP_REQUEUE_PI", 12),
    ("FUTEX_WAIT_REQUEUE_PI", 11), ("FUTEX_WAKE_BITSET", 10), ("FUTEX_WAIT_BITSET", 9), ("FUTEX_TRYLOCK_PI", 8),
    ("FUTEX_UNLOCK_PI", 7), ("FUTEX_LOCK_PI", 6), ("FUTEX_WAKE_OP", 5), ("FUTEX_CMP_REQUEUE", 4),
    ("FUTEX_REQUEUE", 3), ("FUTEX_FD", 2), ("FUTEX_WAKE", 1), ("FUTEX_WAIT", 0),
)
MOUNT_FLAGS: NameTable = tuple((name, 1 << bit) for name, bit in (
    ("RDONLY", 0), ("NOSUID", 1), ("NODEV", 2), ("NOEXEC", 3), ("SYNCHRONOUS", 4), ("REMOUNT", 5), ("MANDLOCK", 6),
    ("DIRSYNC", 7), ("NOATIME", 10), ("NODIRATIME", 11), ("BIND", 12), ("MOVE", 13), ("REC", 14), ("SILENT", 15),
    ("POSIXACL", 16), ("UNBINDABLE", 17), ("PRIVATE", 18), ("SLAVE", 19), ("SHARED", 20), ("RELATIME", 21),
    ("KERNMOUNT", 22), ("I_VERSION", 23), ("STRICTATIME", 24), ("LAZYTIME", 25), ("NOSEC", 28), ("BORN", 29),
    ("ACTIVE", 30), ("NOUSER", 31)))
UMOUNT_FLAGS: NameTable = (("FORCE", 1), ("DETACH", 2), ("EXPIRE", 4), ("NOFOLLOW", 8))
LSEEK_WHENCE: NameTable = (("SEEK_END", 2), ("SEEK_CUR", 1), ("SEEK_SET", 0))
SHUTDOWN_HOW: NameTable = (("SHUT_RDWR", 2), ("SHUT_WR", 1), ("SHUT_RD", 0))
RLIMIT_RESOURCES: NameTable = (
    ("RLIMIT_UNKNOWN", 255), ("RLIMIT_RTTIME", 15), ("RLIMIT_RTPRIO", 14), ("RLIMIT_NICE", 13),
    ("RLIMIT_MSGQUEUE", 12), ("RLIMIT_SIGPENDING", 11), ("RLIMIT_LOCKS", 10), ("RLIMIT_AS", 9),
    ("RLIMIT_MEMLOCK", 8), ("RLIMIT_NOFILE", 7), ("RLIMIT_NPROC", 6), ("RLIMIT_RSS", 5), ("RLIMIT_CORE", 4),
    ("RLIMIT_STACK", 3), ("RLIMIT_DATA", 2), ("RLIMIT_FSIZE", 1), ("RLIMIT_CPU", 0),
)
FCNTL_COMMANDS: NameTable = (
    ("F_GETPIPE_SZ", 29), ("F_SETPIPE_SZ", 28), ("F_NOTIFY", 27), ("F_DUPFD_CLOEXEC", 26), ("F_CANCELLK", 25),
    ("F_GETLEASE", 24), ("F_SETLEASE", 23), ("F_GETOWN_EX", 22), ("F_SETOWN_EX", 21), ("F_GETSIG", 15),
    ("F_SETSIG", 13), ("F_GETOWN", 12), ("F_SETOWN", 10), ("F_SETLKW", 9), ("F_SETLK", 8), ("F_GETLK", 6),
    ("F_SETFL", 5), ("F_GETFL", 4), ("F_SETFD", 3), ("F_GETFD", 2), ("F_DUPFD", 1), ("F_OFD_GETLK", 30),
    ("F_OFD_SETLK", 31), ("F_OFD_SETLKW", 32), ("UNKNOWN", 0),
)
SOCKOPT_LEVELS: NameTable = (("SOL_SOCKET", 1), ("SOL_TCP", 2), ("UNKNOWN", 0))
SOCKOPT_OPTIONS: NameTable = (
    ("SO_COOKIE", 53), ("SO_MEMINFO", 52), ("SO_PEERGROUPS", 51), ("SO_ATTACH_BPF", 50), ("SO_INCOMING_CPU", 49),
    ("SO_BPF_EXTENSIONS", 48), ("SO_MAX_PACING_RATE", 47), ("SO_BUSY_POLL", 46), ("SO_SELECT_ERR_QUEUE", 45),
    ("SO_LOCK_FILTER", 44), ("SO_NOFCS", 43), ("SO_PEEK_OFF", 42), ("SO_WIFI_STATUS", 41), ("SO_RXQ_OVFL", 40),
    ("SO_DOMAIN", 39), ("SO_PROTOCOL", 38), ("SO_TIMESTAMPING", 37), ("SO_MARK", 36), ("SO_TIMESTAMPNS", 35),
    ("SO_PASSSEC", 34), ("SO_PEERSEC", 31), ("SO_ACCEPTCONN", 30), ("SO_TIMESTAMP", 29), ("SO_PEERNAME", 28),
    ("SO_DETACH_FILTER", 27), ("SO_ATTACH_FILTER", 26), ("SO_BINDTODEVICE", 25),
    ("SO_SECURITY_ENCRYPTION_NETWORK", 24), ("SO_SECURITY_ENCRYPTION_TRANSPORT", 23),
    ("SO_SECURITY_AUTHENTICATION", 22), ("SO_SNDTIMEO", 21), ("SO_RCVTIMEO", 20), ("SO_SNDLOWAT", 19),
    ("SO_RCVLOWAT", 18), ("SO_PEERCRED", 17), ("SO_PASSCRED", 16), ("SO_REUSEPORT", 15), ("SO_BSDCOMPAT", 14),
    ("SO_LINGER", 13), ("SO_PRIORITY", 12), ("SO_NO_CHECK", 11), ("SO_OOBINLINE", 10), ("SO_KEEPALIVE", 9),
    ("SO_RCVBUFFORCE", 33), ("SO_SNDBUFFORCE", 32), ("SO_RCVBUF", 8), ("SO_SNDBUF", 7), ("SO_BROADCAST", 6),
    ("SO_DONTROUTE", 5), ("SO_ERROR", 4), ("SO_TYPE", 3), ("SO_REUSEADDR", 2), ("SO_DEBUG", 1), ("UNKNOWN", 0),
)
PTRACE_REQUESTS: NameTable = (
    ("PTRACE_SINGLEBLOCK", 38), ("PTRACE_SYSEMU_SINGLESTEP", 37), ("PTRACE_SYSEMU", 36), ("PTRACE_ARCH_PRCTL", 35),
    ("PTRACE_SET_THREAD_AREA", 34), ("PTRACE_GET_THREAD_AREA", 33), ("PTRACE_OLDSETOPTIONS", 32),
    ("PTRACE_SETFPXREGS", 31), ("PTRACE_GETFPXREGS", 30), ("PTRACE_SETFPREGS", 29), ("PTRACE_GETFPREGS", 28),
    ("PTRACE_SETREGS", 27), ("PTRACE_GETREGS", 26), ("PTRACE_SETSIGMASK", 25), ("PTRACE_GETSIGMASK", 24),
    ("PTRACE_PEEKSIGINFO", 23), ("PTRACE_LISTEN", 22), ("PTRACE_INTERRUPT", 21), ("PTRACE_SEIZE", 20),
    ("PTRACE_SETREGSET", 19), ("PTRACE_GETREGSET", 18), ("PTRACE_SETSIGINFO", 17), ("PTRACE_GETSIGINFO", 16),
    ("PTRACE_GETEVENTMSG", 15), ("PTRACE_SETOPTIONS", 14), ("PTRACE_SYSCALL", 13), ("PTRACE_DETACH", 12),
    ("PTRACE_ATTACH", 11), ("PTRACE_SINGLESTEP", 10), ("PTRACE_KILL", 9), ("PTRACE_CONT", 8), ("PTRACE_POKEUSR", 7),
    ("PTRACE_POKEDATA", 6), ("PTRACE_POKETEXT", 5), ("PTRACE_PEEKUSR", 4), ("PTRACE_PEEKDATA", 3),
    ("PTRACE_PEEKTEXT", 2), ("PTRACE_TRACEME", 1), ("PTRACE_UNKNOWN", 0),
)
PROT_FLAGS: NameTable = (
    ("PROT_READ", 1), ("PROT_WRITE", 2), ("PROT_EXEC", 4), ("PROT_SEM", 8), ("PROT_GROWSDOWN", 16),
    ("PROT_GROWSUP", 32), ("PROT_SAO", 64), ("PROT_NONE", 0),
)
MMAP_FLAGS: NameTable = tuple((name, 1 << bit) for bit, name in enumerate((
    "MAP_SHARED", "MAP_PRIVATE", "MAP_FIXED", "MAP_ANONYMOUS", "MAP_32BIT", "MAP_RENAME", "MAP_NORESERVE",
    "MAP_POPULATE", "MAP_NONBLOCK", "MAP_GROWSDOWN", "MAP_DENYWRITE", "MAP_EXECUTABLE", "MAP_INHERIT", "MAP_FILE",
    "MAP_LOCKED")))
SPLICE_FLAGS: NameTable = (("SPLICE_F_MOVE", 1), ("SPLICE_F_NONBLOCK", 2), ("SPLICE_F_MORE", 4), ("SPLICE_F_GIFT", 8))
QUOTACTL_DQI_FLAGS: NameTable = (("DQF_NONE", 1), ("V1_DQF_RSQUASH", 2))
QUOTACTL_CMDS: NameTable = tuple((name, 1 << bit) for bit, name in enumerate((
    "Q_QUOTAON", "Q_QUOTAOFF", "Q_GETFMT", "Q_GETINFO", "Q_SETINFO", "Q_GETQUOTA", "Q_SETQUOTA", "Q_SYNC",
    "Q_XQUOTAON", "Q_XQUOTAOFF", "Q_XGETQUOTA", "Q_XSETQLIM", "Q_XGETQSTAT", "Q_XQUOTARM", "Q_XQUOTASYNC")))
QUOTACTL_TYPES: NameTable = (("USRQUOTA", 1), ("GRPQUOTA", 2))
QUOTACTL_QUOTA_FMTS: NameTable = (("QFMT_NOT_USED", 1), ("QFMT_VFS_OLD", 2), ("QFMT_VFS_V0", 4), ("QFMT_VFS_V1", 8))
SEMOP_FLAGS: NameTable = (("IPC_NOWAIT", 1), ("SEM_UNDO", 2))
SEMGET_FLAGS: NameTable = (("IPC_EXCL", 1 << 14), ("IPC_CREAT", 1 << 13))
SEMCTL_COMMANDS: NameTable = tuple((name, 1 << bit) for bit, name in enumerate((
    "IPC_STAT", "IPC_SET", "IPC_RMID", "IPC_INFO", "SEM_INFO", "SEM_STAT", "GETALL", "GETNCNT", "GETPID", "GETVAL",
    "GETZCNT", "SETALL", "SETVAL")))
ACCESS_FLAGS: NameTable = (("F_OK", 0), ("R_OK", 4), ("W_OK", 2), ("X_OK", 1))
PF_FLAGS: NameTable = tuple((name, 1 << bit) for bit, name in enumerate((
    "PROTECTION_VIOLATION", "PAGE_NOT_PRESENT", "WRITE_ACCESS", "READ_ACCESS", "USER_FAULT", "SUPERVISOR_FAULT",
    "RESERVED_PAGE", "INSTRUCTION_FETCH")))
UNLINKAT_FLAGS: NameTable = (("AT_REMOVEDIR", 0x200),)
LINKAT_FLAGS: NameTable = (("AT_SYMLINK_FOLLOW", 0x400), ("AT_EMPTY_PATH", 0x1000))
CHMOD_MODE: NameTable = tuple((name, 1 << bit) for bit, name in enumerate((
    "S_IXOTH", "S_IWOTH", "S_IROTH", "S_IXGRP", "S_IWGRP", "S_IRGRP", "S_IXUSR", "S_IWUSR", "S_IRUSR", "S_ISVTX",
    "S_ISGID", "S_ISUID")))
RENAMEAT2_FLAGS: NameTable = (("RENAME_NOREPLACE", 1), ("RENAME_EXCHANGE", 2), ("RENAME_WHITEOUT", 4))
OPENAT2_FLAGS: NameTable = tuple((name, 1 << bit) for bit, name in enumerate((
    "RESOLVE_BENEATH", "RESOLVE_IN_ROOT", "RESOLVE_NO_MAGICLINKS", "RESOLVE_NO_SYMLINKS", "RESOLVE_NO_XDEV",
    "RESOLVE_CACHED")))
# (EXE_LOWER_LAYER is newer than the 0.29.3 driver; live capture sets it, as the current driver does.)
EXECVE_FLAGS: NameTable = (("EXE_WRITABLE", 1), ("EXE_UPPER_LAYER", 2), ("EXE_FROM_MEMFD", 4), ("EXE_LOWER_LAYER", 8))
EXECVEAT_FLAGS: NameTable = (("AT_EMPTY_PATH", 1), ("AT_SYMLINK_NOFOLLOW", 2))

# (event name, parameter) -> table, for both directions; execveat's enter `flags` differs from its exit's.
_TABLES: dict[tuple[str, str], NameTable] = {
    **{(event, "flags"): FILE_FLAGS for event in ("open", "openat", "openat2", "open_by_handle_at", "userfaultfd")},
    **{(event, "flags"): CLONE_FLAGS for event in ("clone", "clone3", "fork", "vfork", "unshare")},
    ("setns", "nstype"): CLONE_FLAGS,
    ("socket", "domain"): SOCKET_FAMILIES, ("socketpair", "domain"): SOCKET_FAMILIES,
    ("shutdown", "how"): SHUTDOWN_HOW,
    **{(event, "level"): SOCKOPT_LEVELS for event in ("setsockopt", "getsockopt")},
    **{(event, "optname"): SOCKOPT_OPTIONS for event in ("setsockopt", "getsockopt")},
    ("futex", "op"): FUTEX_OPERATIONS,
    ("lseek", "whence"): LSEEK_WHENCE, ("llseek", "whence"): LSEEK_WHENCE,
    **{(event, "resource"): RLIMIT_RESOURCES for event in ("getrlimit", "setrlimit", "prlimit")},
    ("fcntl", "cmd"): FCNTL_COMMANDS,
    **{(event, "prot"): PROT_FLAGS for event in ("mmap", "mmap2", "mprotect")},
    ("mmap", "flags"): MMAP_FLAGS, ("mmap2", "flags"): MMAP_FLAGS,
    ("splice", "flags"): SPLICE_FLAGS,
    ("ptrace", "request"): PTRACE_REQUESTS,
    ("quotactl", "cmd"): QUOTACTL_CMDS, ("quotactl", "type"): QUOTACTL_TYPES,
    ("quotactl", "quota_fmt"): QUOTACTL_QUOTA_FMTS, ("quotactl", "quota_fmt_out"): QUOTACTL_QUOTA_FMTS,
    ("quotactl", "dqi_flags"): QUOTACTL_DQI_FLAGS,
    ("flock", "operation"): FLOCK_FLAGS,
    ("semop", "sem_flg_0"): SEMOP_FLAGS, ("semop", "sem_flg_1"): SEMOP_FLAGS,
    ("semget", "semflg"): SEMGET_FLAGS, ("semctl", "cmd"): SEMCTL_COMMANDS,
    ("mount", "flags"): MOUNT_FLAGS, ("umount", "flags"): UMOUNT_FLAGS,
    ("access", "mode"): ACCESS_FLAGS,
    ("page_fault", "error"): PF_FLAGS,
    ("unlinkat", "flags"): UNLINKAT_FLAGS, ("linkat", "flags"): LINKAT_FLAGS,
    ("renameat2", "flags"): RENAMEAT2_FLAGS, ("openat2", "resolve"): OPENAT2_FLAGS,
    **{(event, "mode"): CHMOD_MODE for event in ("chmod", "fchmod", "fchmodat")},
    ("execve", "flags"): EXECVE_FLAGS, ("execveat", "flags"): EXECVE_FLAGS,
}
_ENTER_TABLES: dict[tuple[str, str], NameTable] = {("execveat", "flags"): EXECVEAT_FLAGS}

# PT_DYN parameters: the type of the value for each index of its first byte (the driver's dynamic tables).
_SOCKOPT_VALUE = (et.ParamType.BYTEBUF, et.ParamType.ERRNO, et.ParamType.UINT32, et.ParamType.UINT64,
                  et.ParamType.RELTIME)
_PTRACE_VALUE = (et.ParamType.UINT64, et.ParamType.SIGTYPE)
DYN_TYPES: dict[tuple[str, str], tuple[et.ParamType, ...]] = {
    ("setsockopt", "val"): _SOCKOPT_VALUE, ("getsockopt", "val"): _SOCKOPT_VALUE,
    ("ptrace", "addr"): _PTRACE_VALUE, ("ptrace", "data"): _PTRACE_VALUE,
    ("bpf", "res_or_fd"): (et.ParamType.FD, et.ParamType.ERRNO),
}

# Signal numbers as libsinsp names them (the x86/generic Linux numbering of the capturing host).
SIGNAL_NAMES: dict[int, str] = dict(enumerate((
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV",
    "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
    "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"),
    start=1))


def table_for(type_id: int, param: str) -> NameTable | None:
    """The name table of parameter `param` of event `type_id`, None when the schema gives it none."""
    info = et.event_info(type_id)
    if info is None:
        return None
    if info.direction == ">" and (info.name, param) in _ENTER_TABLES:
        return _ENTER_TABLES[(info.name, param)]
    return _TABLES.get((info.name, param))
