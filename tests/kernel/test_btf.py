"""kernel.btf: struct offsets (renamed members included) and enum constants from a BTF blob built here, then
the running kernel's (when it has BTF): every constant the probes are compiled with must resolve."""

from __future__ import annotations

import struct

import pytest

from kernel import btf
from kernel.btf import Btf, BtfError


class _Blob:
    """A BTF blob assembled type by type (ids from 1), with its string section."""

    def __init__(self) -> None:
        self.types = b""
        self.strings = b"\0"
        self.count = 0

    def name(self, text: str) -> int:
        offset = len(self.strings)
        self.strings += text.encode() + b"\0"
        return offset

    def add(self, kind: int, name: str, vlen: int, size_or_type: int, extra: bytes = b"",
            kind_flag: bool = False) -> int:
        info = (kind << 24) | vlen | (int(kind_flag) << 31)
        self.types += struct.pack("<III", self.name(name) if name else 0, info, size_or_type) + extra
        self.count += 1
        return self.count

    def struct(self, name: str, size: int, members: list[tuple[str, int, int]]) -> int:
        extra = b"".join(struct.pack("<III", self.name(member), type_id, bits) for member, type_id, bits in members)
        return self.add(btf.KIND_STRUCT, name, len(members), size, extra)

    def enum(self, name: str, values: list[tuple[str, int]], signed: bool = False) -> int:
        extra = b"".join(struct.pack("<II", self.name(constant), value & 0xFFFFFFFF) for constant, value in values)
        return self.add(btf.KIND_ENUM, name, len(values), 4, extra, signed)

    def enum64(self, name: str, values: list[tuple[str, int]], signed: bool = False) -> int:
        extra = b"".join(struct.pack("<III", self.name(constant), value & 0xFFFFFFFF, (value >> 32) & 0xFFFFFFFF)
                         for constant, value in values)
        return self.add(btf.KIND_ENUM64, name, len(values), 8, extra, signed)

    def build(self) -> Btf:
        header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(self.types), len(self.types), len(self.strings))
        return Btf(header + self.types + self.strings)


@pytest.fixture(name="blob")
def fixture_blob() -> Btf:
    """kernfs_node as Linux 6.15+ has it (`__parent`), cgroup_subsys_id after a forward declaration, enums of
    every width and sign."""
    blob = _Blob()
    integer = blob.add(btf.KIND_INT, "int", 0, 4, struct.pack("<I", 32))
    pointer = blob.add(btf.KIND_PTR, "", 0, integer)
    blob.struct("kernfs_node", 24, [("count", integer, 0), ("__parent", pointer, 64), ("name", pointer, 128)])
    blob.add(btf.KIND_ENUM, "cgroup_subsys_id", 0, 4)  # forward declaration: no values
    blob.enum("cgroup_subsys_id", [("cpuset_cgrp_id", 0), ("io_cgrp_id", 1), ("pids_cgrp_id", 2),
                                   ("CGROUP_SUBSYS_COUNT", 3)])
    blob.enum("signed_small", [("MINUS_ONE", -1), ("BIG", 0x7FFFFFFF)], signed=True)
    blob.enum("unsigned_small", [("TOP", 0xFFFFFFFF)])
    blob.enum64("wide", [("LOW", 1), ("HIGH", 1 << 40), ("MINUS_TWO", -2)], signed=True)
    return blob.build()


class TestEnums:
    def test_values_in_declaration_order(self, blob: Btf) -> None:
        """An enum's constants come back name -> value in the order the kernel declares them."""
        assert list(blob.enum_values("cgroup_subsys_id").items()) == [
            ("cpuset_cgrp_id", 0), ("io_cgrp_id", 1), ("pids_cgrp_id", 2), ("CGROUP_SUBSYS_COUNT", 3)]

    def test_sign_follows_kind_flag(self, blob: Btf) -> None:
        """kind_flag marks signed enums; unsigned ones keep their full 32-bit values."""
        assert blob.enum_values("signed_small") == {"MINUS_ONE": -1, "BIG": 0x7FFFFFFF}
        assert blob.enum_values("unsigned_small") == {"TOP": 0xFFFFFFFF}

    def test_enum64_joins_both_halves(self, blob: Btf) -> None:
        """64-bit enums (BTF_KIND_ENUM64) join their low and high words."""
        assert blob.enum_values("wide") == {"LOW": 1, "HIGH": 1 << 40, "MINUS_TWO": -2}

    def test_missing_enum_is_an_error(self, blob: Btf) -> None:
        """An enum the blob lacks raises BtfError, naming it."""
        with pytest.raises(BtfError, match="no_such_enum"):
            blob.enum_values("no_such_enum")

    def test_cgroup_subsystems_by_id(self, blob: Btf) -> None:
        """Controller names are the enum's constants without `_cgrp_id`, indexed by value."""
        assert btf.cgroup_subsystems(blob) == ("cpuset", "io", "pids")

    def test_cgroup_ids_with_a_gap_are_an_error(self) -> None:
        """The probe walks ids 0..COUNT-1: an enum numbered otherwise is refused rather than misnamed."""
        blob = _Blob()
        blob.enum("cgroup_subsys_id", [("cpu_cgrp_id", 0), ("pids_cgrp_id", 2), ("CGROUP_SUBSYS_COUNT", 3)])
        with pytest.raises(BtfError, match="0..2"):
            btf.cgroup_subsystems(blob.build())


class TestOffsets:
    def test_renamed_member_alternatives(self, blob: Btf) -> None:
        """`a|b` finds whichever name this kernel uses (kernfs_node.parent became __parent in 6.15)."""
        assert blob.offset("kernfs_node", "__parent|parent") == 8
        assert blob.offset("kernfs_node", "parent|__parent") == 8
        assert blob.offset("kernfs_node", "name") == 16

    def test_no_alternative_present_is_an_error(self, blob: Btf) -> None:
        """When none of the alternatives exists the error names the whole path."""
        with pytest.raises(BtfError, match=r"parent\|up"):
            blob.offset("kernfs_node", "parent|up")


class TestRunningKernel:
    """The running kernel (live capture needs its BTF, so the sensor's machines have it)."""

    def test_every_probe_constant_resolves(self) -> None:
        """Each offset, size and the controller count the probes need is in this kernel's BTF."""
        kernel = Btf.from_kernel()
        constants = btf.probe_constants(kernel)
        assert {name for name, _, _ in btf.PROBE_OFFSETS} <= set(constants)
        assert constants["SIZE_UPID"] >= 8  # int nr + a pointer to the namespace
        subsystems = btf.cgroup_subsystems(kernel)
        assert constants["CGROUP_SUBSYS_COUNT"] == len(subsystems)

    def test_cgroup_subsystems_match_proc_cgroups(self) -> None:
        """The controllers from the enum are those /proc/cgroups lists, in the same (id) order, under their
        v1 names (io is blkio there)."""
        with open("/proc/cgroups") as handle:
            listed = [line.split()[0] for line in handle if not line.startswith("#")]
        names = [{"io": "blkio"}.get(name, name) for name in btf.cgroup_subsystems()]
        assert names == listed
