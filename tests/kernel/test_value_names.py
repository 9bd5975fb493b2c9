"""Which name table the scap schema attaches to a parameter, and the tables' facts."""

from __future__ import annotations

from kernel.scap import event_table as et
from kernel.scap import value_names as vn
from kernel.scap.value_names import table_for


class TestTableFor:
    def test_open_flags_in_both_directions(self) -> None:
        """open's `flags` uses the file flags on enter and exit."""
        assert table_for(2, "flags") is vn.FILE_FLAGS
        assert table_for(3, "flags") is vn.FILE_FLAGS

    def test_execveat_enter_and_exit_differ(self) -> None:
        """execveat's enter flags are AT_* flags; its exit flags describe the executable."""
        enter = next(i for i, e in et.EVENTS.items() if e.name == "execveat" and e.direction == ">")
        assert table_for(enter, "flags") is vn.EXECVEAT_FLAGS
        assert table_for(enter + 1, "flags") is vn.EXECVE_FLAGS

    def test_clone_flags_and_untabled_parameters(self) -> None:
        """clone's flags name clone bits; eventfd's flags and unknown ids have no table."""
        assert table_for(223, "flags") is vn.CLONE_FLAGS
        assert table_for(62, "flags") is None
        assert table_for(65535, "flags") is None

    def test_every_flags_parameter_has_a_table_but_the_bare_ones(self) -> None:
        """Flags and mode parameters all have a table except the few the driver prints as bare numbers; every
        dynamic parameter names a real one."""
        flag_types = {et.ParamType.FLAGS8, et.ParamType.FLAGS16, et.ParamType.FLAGS32, et.ParamType.MODE}
        bare = {(e.name, p.name) for i, e in et.EVENTS.items() for p in e.params
                if p.type in flag_types and table_for(i, p.name) is None}
        assert bare == {("eventfd", "flags"), ("signalfd", "flags"), ("timerfd_create", "flags"),
                        ("inotify_init", "flags")}
        assert set(vn.DYN_TYPES) <= {(e.name, p.name) for e in et.EVENTS.values() for p in e.params}


def test_signal_names_follow_linux_numbering() -> None:
    """Signal 9 is SIGKILL, 17 SIGCHLD, 29 SIGIO; 0 has no name."""
    assert (vn.SIGNAL_NAMES[9], vn.SIGNAL_NAMES[17], vn.SIGNAL_NAMES[29]) == ("SIGKILL", "SIGCHLD", "SIGIO")
    assert 0 not in vn.SIGNAL_NAMES
