"""Kernel struct layouts read from the running kernel's BTF (``/sys/kernel/btf/vmlinux``).

The installed kernel headers may belong to another kernel than the running one, so the eBPF programs never
dereference kernel structs through header types: every offset they need is looked up here, by name, and
passed to the C code as a constant (``kernel.loader``). The BTF blob is simple: a header, a type section (one
record per type, ids from 1, each followed by kind-specific data) and a string section.

``Btf.offset("task_struct", "real_parent")`` gives a byte offset; dotted paths walk into embedded structs
(``"fs_struct", "pwd.dentry"``) and members of anonymous unions/structs are found as if they were direct
members, as C sees them. A member renamed across kernel versions is named by its alternatives separated by
``|`` (``"kernfs_node", "__parent|parent"``): the first one the kernel has is used. ``Btf.enum_values``
gives the constants of an enum (``cgroup_subsys_id``: the cgroup controllers this kernel was built with).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

VMLINUX = Path("/sys/kernel/btf/vmlinux")
_MAGIC = 0xEB9F
_HEADER = struct.Struct("<HBBIIIII")
_TYPE = struct.Struct("<III")
_MEMBER = struct.Struct("<III")
_ENUM_VALUE = struct.Struct("<II")  # name offset, 32-bit value
_ENUM64_VALUE = struct.Struct("<III")  # name offset, low 32 bits, high 32 bits

KIND_INT, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_FWD, KIND_TYPEDEF = 1, 2, 3, 4, 5, 6, 7, 8
KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_FUNC, KIND_FUNC_PROTO, KIND_VAR, KIND_DATASEC = 9, 10, 11, 12, 13, 14, 15
KIND_FLOAT, KIND_DECL_TAG, KIND_TYPE_TAG, KIND_ENUM64 = 16, 17, 18, 19
_MODIFIERS = frozenset({KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG})
# Bytes of kind-specific data after the 12-byte type record: fixed, or per vlen entry.
_FIXED_EXTRA = {KIND_INT: 4, KIND_ARRAY: 12, KIND_VAR: 4, KIND_DECL_TAG: 4}
_PER_VLEN = {KIND_STRUCT: 12, KIND_UNION: 12, KIND_ENUM: 8, KIND_FUNC_PROTO: 8, KIND_DATASEC: 12, KIND_ENUM64: 12}


class BtfError(RuntimeError):
    """The BTF blob is missing or does not describe a struct, member or enum the probes need."""


@dataclass(frozen=True, slots=True)
class _Type:
    kind: int
    name: str
    size_or_type: int
    vlen: int
    kind_flag: bool
    extra_at: int  # where the kind-specific data starts in the blob


class Btf:
    """Index of one BTF blob: types by id, structs, unions and enums by name."""

    def __init__(self, data: bytes) -> None:
        if len(data) < _HEADER.size:
            raise BtfError("BTF blob too short")
        magic, _version, _flags, hdr_len, type_off, type_len, str_off, str_len = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise BtfError(f"not a BTF blob (magic {magic:#x})")
        self._data = data
        self._strings = data[hdr_len + str_off: hdr_len + str_off + str_len]
        self._types: list[_Type | None] = [None]  # type id 0 is void
        self._by_name: dict[str, int] = {}
        self._enums: dict[str, int] = {}
        self._parse(hdr_len + type_off, hdr_len + type_off + type_len)

    @classmethod
    def from_kernel(cls, path: Path = VMLINUX) -> "Btf":
        try:
            return cls(path.read_bytes())
        except OSError as exc:
            raise BtfError(f"cannot read {path} ({exc.strerror}); the kernel must be built with "
                           "CONFIG_DEBUG_INFO_BTF=y") from None

    def _name(self, offset: int) -> str:
        end = self._strings.index(b"\0", offset)
        return self._strings[offset:end].decode()

    def _parse(self, start: int, end: int) -> None:
        at = start
        data = self._data
        while at < end:
            name_off, info, size_or_type = _TYPE.unpack_from(data, at)
            kind = (info >> 24) & 0x1F
            vlen = info & 0xFFFF
            extra = at + _TYPE.size
            at = extra + _FIXED_EXTRA.get(kind, 0) + _PER_VLEN.get(kind, 0) * vlen
            name = self._name(name_off) if name_off else ""
            self._types.append(_Type(kind, name, size_or_type, vlen, bool(info >> 31), extra))
            if name and kind in (KIND_STRUCT, KIND_UNION):
                # Keep the first complete definition of a name (forward declarations are KIND_FWD).
                self._by_name.setdefault(name, len(self._types) - 1)
            elif name and kind in (KIND_ENUM, KIND_ENUM64) and vlen:
                self._enums.setdefault(name, len(self._types) - 1)  # vlen 0: a forward-declared enum

    def _resolve(self, type_id: int) -> int:
        """Strip typedefs and qualifiers."""
        while True:
            entry = self._types[type_id]
            if entry is None or entry.kind not in _MODIFIERS:
                return type_id
            type_id = entry.size_or_type

    def _members(self, type_id: int):
        entry = self._types[type_id]
        for i in range(entry.vlen):
            name_off, member_type, offset = _MEMBER.unpack_from(self._data, entry.extra_at + 12 * i)
            bits = offset & 0xFFFFFF if entry.kind_flag else offset
            yield (self._name(name_off) if name_off else ""), member_type, bits

    def _find_member(self, type_id: int, name: str) -> tuple[int, int] | None:
        """(bit offset, member type id) of `name` in struct/union `type_id`, looking into anonymous members."""
        for member_name, member_type, bits in self._members(type_id):
            if member_name == name:
                return bits, member_type
            if not member_name:
                inner = self._resolve(member_type)
                if self._types[inner].kind in (KIND_STRUCT, KIND_UNION):
                    found = self._find_member(inner, name)
                    if found is not None:
                        return bits + found[0], found[1]
        return None

    def struct_id(self, struct_name: str) -> int:
        type_id = self._by_name.get(struct_name)
        if type_id is None:
            raise BtfError(f"struct {struct_name} is not in the kernel's BTF")
        return type_id

    def offset(self, struct_name: str, path: str) -> int:
        """Byte offset of member `path` (dotted for embedded structs; `a|b`: the first of these names the
        struct has) from the start of `struct_name`."""
        type_id = self.struct_id(struct_name)
        total_bits = 0
        for part in path.split("."):
            found = self._find_any_member(type_id, part.split("|"))
            if found is None:
                raise BtfError(f"struct {struct_name} has no member {path} in the kernel's BTF")
            bits, member_type = found
            total_bits += bits
            type_id = self._resolve(member_type)
        if total_bits % 8:
            raise BtfError(f"{struct_name}.{path} is a bitfield")
        return total_bits // 8

    def _find_any_member(self, type_id: int, names: list[str]) -> tuple[int, int] | None:
        for name in names:
            found = self._find_member(type_id, name)
            if found is not None:
                return found
        return None

    def size(self, struct_name: str) -> int:
        return self._types[self.struct_id(struct_name)].size_or_type

    def enum_values(self, enum_name: str) -> dict[str, int]:
        """The constants of enum `enum_name` (32- or 64-bit), name -> value, in declaration order."""
        type_id = self._enums.get(enum_name)
        if type_id is None:
            raise BtfError(f"enum {enum_name} is not in the kernel's BTF")
        entry = self._types[type_id]
        bits = 32 if entry.kind == KIND_ENUM else 64
        values = {}
        for i in range(entry.vlen):
            if entry.kind == KIND_ENUM:
                name_off, value = _ENUM_VALUE.unpack_from(self._data, entry.extra_at + _ENUM_VALUE.size * i)
            else:
                name_off, low, high = _ENUM64_VALUE.unpack_from(self._data, entry.extra_at + _ENUM64_VALUE.size * i)
                value = (high << 32) | low
            if entry.kind_flag and value >= 1 << (bits - 1):  # kind_flag: the enum's values are signed
                value -= 1 << bits
            values[self._name(name_off)] = value
        return values

    @cached_property
    def type_count(self) -> int:
        return len(self._types) - 1


# Every kernel field the probes read, as (constant name in the C code, struct, member path).
PROBE_OFFSETS: tuple[tuple[str, str, str], ...] = (
    ("OFF_TASK_REAL_PARENT", "task_struct", "real_parent"),
    ("OFF_TASK_TGID", "task_struct", "tgid"),
    ("OFF_TASK_PID", "task_struct", "pid"),
    ("OFF_TASK_MM", "task_struct", "mm"),
    ("OFF_TASK_FILES", "task_struct", "files"),
    ("OFF_TASK_LOGINUID", "task_struct", "loginuid"),
    ("OFF_TASK_EXIT_CODE", "task_struct", "exit_code"),
    ("OFF_MM_ARG_START", "mm_struct", "arg_start"),
    ("OFF_MM_ARG_END", "mm_struct", "arg_end"),
    ("OFF_MM_ENV_START", "mm_struct", "env_start"),
    ("OFF_MM_ENV_END", "mm_struct", "env_end"),
    ("OFF_MM_EXE_FILE", "mm_struct", "exe_file"),
    ("OFF_FILE_DENTRY", "file", "f_path.dentry"),
    ("OFF_DENTRY_NAME", "dentry", "d_name.name"),
    ("OFF_FILES_FDT", "files_struct", "fdt"),
    ("OFF_FDT_MAX_FDS", "fdtable", "max_fds"),
    ("OFF_FDT_FD", "fdtable", "fd"),
    ("OFF_FILE_PRIVATE", "file", "private_data"),
    ("OFF_SOCKET_SK", "socket", "sk"),
    ("OFF_SKC_DADDR", "sock_common", "skc_daddr"),
    ("OFF_SKC_RCV_SADDR", "sock_common", "skc_rcv_saddr"),
    ("OFF_SKC_DPORT", "sock_common", "skc_dport"),
    ("OFF_SKC_NUM", "sock_common", "skc_num"),
    ("OFF_SKC_FAMILY", "sock_common", "skc_family"),
    ("OFF_SKC_V6_DADDR", "sock_common", "skc_v6_daddr"),
    ("OFF_SKC_V6_RCV_SADDR", "sock_common", "skc_v6_rcv_saddr"),
    # What exec records tell about the new process (pid-namespace ids, tty, cwd, cgroups).
    ("OFF_TASK_THREAD_PID", "task_struct", "thread_pid"),
    ("OFF_TASK_GROUP_LEADER", "task_struct", "group_leader"),
    ("OFF_TASK_SIGNAL", "task_struct", "signal"),
    ("OFF_TASK_FS", "task_struct", "fs"),
    ("OFF_TASK_CGROUPS", "task_struct", "cgroups"),
    ("OFF_PID_LEVEL", "pid", "level"),
    ("OFF_PID_NUMBERS", "pid", "numbers"),
    ("OFF_UPID_NR", "upid", "nr"),
    ("OFF_SIGNAL_TTY", "signal_struct", "tty"),
    ("OFF_TTY_INDEX", "tty_struct", "index"),
    ("OFF_TTY_DRIVER", "tty_struct", "driver"),
    ("OFF_TTY_DRIVER_MAJOR", "tty_driver", "major"),
    ("OFF_TTY_DRIVER_MINOR_START", "tty_driver", "minor_start"),
    ("OFF_FS_PWD_MNT", "fs_struct", "pwd.mnt"),
    ("OFF_FS_PWD_DENTRY", "fs_struct", "pwd.dentry"),
    ("OFF_FS_ROOT_MNT", "fs_struct", "root.mnt"),
    ("OFF_FS_ROOT_DENTRY", "fs_struct", "root.dentry"),
    ("OFF_DENTRY_PARENT", "dentry", "d_parent"),
    ("OFF_VFSMOUNT_ROOT", "vfsmount", "mnt_root"),
    ("OFF_MOUNT_MNT", "mount", "mnt"),
    ("OFF_MOUNT_PARENT", "mount", "mnt_parent"),
    ("OFF_MOUNT_MOUNTPOINT", "mount", "mnt_mountpoint"),
    ("OFF_CSS_SET_SUBSYS", "css_set", "subsys"),
    ("OFF_CSS_SET_DFL_CGRP", "css_set", "dfl_cgrp"),
    ("OFF_CSS_CGROUP", "cgroup_subsys_state", "cgroup"),
    ("OFF_CGROUP_KN", "cgroup", "kn"),
    ("OFF_CGROUP_ROOT", "cgroup", "root"),
    ("OFF_KN_NAME", "kernfs_node", "name"),
    ("OFF_KN_PARENT", "kernfs_node", "__parent|parent"),  # renamed __parent in Linux 6.15
    # Capability sets (kernel_cap_t: 64 bits, a struct of one u64 since Linux 6.3, two u32 before).
    ("OFF_TASK_CRED", "task_struct", "cred"),
    ("OFF_CRED_CAP_INHERITABLE", "cred", "cap_inheritable"),
    ("OFF_CRED_CAP_PERMITTED", "cred", "cap_permitted"),
    ("OFF_CRED_CAP_EFFECTIVE", "cred", "cap_effective"),
)
# Offsets the probes use when the kernel has them, -1 otherwise: overlayfs's inode (in vmlinux's BTF only when
# overlayfs is built in), for whether an exec's program sits in a container's upper (writable) layer.
OPTIONAL_OFFSETS: tuple[tuple[str, str, str], ...] = (
    ("OFF_FILE_F_INODE", "file", "f_inode"),
    ("OFF_INODE_I_SB", "inode", "i_sb"),
    ("OFF_SB_S_MAGIC", "super_block", "s_magic"),
    ("OFF_OVL_INODE_VFS_INODE", "ovl_inode", "vfs_inode"),
    ("OFF_OVL_INODE_UPPERDENTRY", "ovl_inode", "__upperdentry"),
    # The program's inode (number, change and modification times) and when its pid namespace's init started.
    # The times moved: `i_ctime_sec` since Linux 6.11, `__i_ctime` (a timespec64) in 6.6-6.10, `i_ctime` before.
    ("OFF_INODE_I_INO", "inode", "i_ino"),
    ("OFF_INODE_CTIME_SEC", "inode", "i_ctime_sec||__i_ctime.tv_sec||i_ctime.tv_sec"),
    ("OFF_INODE_CTIME_NSEC", "inode", "i_ctime_nsec||__i_ctime.tv_nsec||i_ctime.tv_nsec"),
    ("OFF_INODE_MTIME_SEC", "inode", "i_mtime_sec||__i_mtime.tv_sec||i_mtime.tv_sec"),
    ("OFF_INODE_MTIME_NSEC", "inode", "i_mtime_nsec||__i_mtime.tv_nsec||i_mtime.tv_nsec"),
    ("OFF_TASK_NSPROXY", "task_struct", "nsproxy"),
    ("OFF_NSPROXY_PID_NS_FOR_CHILDREN", "nsproxy", "pid_ns_for_children"),
    ("OFF_PIDNS_CHILD_REAPER", "pid_namespace", "child_reaper"),
    ("OFF_TASK_START_TIME", "task_struct", "start_time"),
)
# Struct sizes the probes need, as (constant name, struct): `struct pid`'s numbers[] is an array of upid.
PROBE_SIZES: tuple[tuple[str, str], ...] = (("SIZE_UPID", "upid"),)
CGROUP_SUBSYS_ENUM = "cgroup_subsys_id"
_CGROUP_ID_SUFFIX = "_cgrp_id"


def probe_offsets(btf: Btf | None = None) -> dict[str, int]:
    """The offsets the probes are compiled with (``PROBE_OFFSETS``), from the running kernel's BTF."""
    btf = btf or Btf.from_kernel()
    return {const: btf.offset(struct_name, path) for const, struct_name, path in PROBE_OFFSETS}


def _optional_offset(btf: Btf, struct_name: str, paths: str) -> int:
    """The offset of the first of `paths` (`||`-separated whole paths) the struct has, -1 for none."""
    for path in paths.split("||"):
        try:
            return btf.offset(struct_name, path)
        except BtfError:
            continue
    return -1


def cgroup_subsystems(btf: Btf | None = None) -> tuple[str, ...]:
    """The cgroup controllers this kernel was built with, indexed by their id (`enum cgroup_subsys_id`:
    `cpuset_cgrp_id` = 0 ... up to `CGROUP_SUBSYS_COUNT`), named as the kernel names them (`cpuset`, `io`...)."""
    btf = btf or Btf.from_kernel()
    values = btf.enum_values(CGROUP_SUBSYS_ENUM)
    names = {value: name.removesuffix(_CGROUP_ID_SUFFIX) for name, value in values.items()
             if name.endswith(_CGROUP_ID_SUFFIX)}
    count = values.get("CGROUP_SUBSYS_COUNT", len(names))
    if sorted(names) != list(range(count)):
        raise BtfError(f"enum {CGROUP_SUBSYS_ENUM} does not number its controllers 0..{count - 1}")
    return tuple(names[i] for i in range(count))


def probe_constants(btf: Btf | None = None) -> dict[str, int]:
    """Every kernel-dependent constant the probes are compiled with: the offsets, the struct sizes and
    CGROUP_SUBSYS_COUNT (how many controllers the exec handler walks)."""
    btf = btf or Btf.from_kernel()
    constants = probe_offsets(btf)
    constants.update({const: _optional_offset(btf, struct_name, path)
                      for const, struct_name, path in OPTIONAL_OFFSETS})
    constants.update({const: btf.size(struct_name) for const, struct_name in PROBE_SIZES})
    constants["CGROUP_SUBSYS_COUNT"] = len(cgroup_subsystems(btf))
    return constants
