"""`evt.buflen`: how many bytes an I/O call moved, as libsinsp extracts it.

libsinsp reads it from the exit event of a call in an I/O category (`io_read`, `io_write`, `io_other`: read,
write, sendfile, close, ioctl...) whose fd it knows: the first parameter (the result) when it is not
negative. Enter events, failed calls, calls on an unknown fd and every other category have none. The
category is the schema's, so generic events (category `other`) never have one.

libsinsp knows the fd of an exit from its enter event: an exit whose enter is missing (the first event of a
thread in a capture) has none, though the fd fields still show the thread's last fd. Live capture emits exit
events only, with the fd among their own parameters, which serves instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from kernel.scap import event_table as et

_IO_CATEGORIES = (et.Category.IO_READ, et.Category.IO_WRITE, et.Category.IO_OTHER)
IO_EVENT = np.zeros(max(et.EVENTS) + 1, dtype=bool)
for _type_id, _info in et.EVENTS.items():
    IO_EVENT[_type_id] = _info.category in _IO_CATEGORIES


def buflen_column(view) -> pa.Array:
    """`evt.buflen` for every row of `view` (a `stages.state.enrich` batch view), null where it has none."""
    io = IO_EVENT[np.clip(view.type_id, 0, len(IO_EVENT) - 1)] & (view.type_id < len(IO_EVENT))
    fd_known = (view.enter_index >= 0) | view.raw.valid("arg.fd")
    has = io & view.exits & view.res_valid & (view.res >= 0) & view.fd_event & view.has_fd() & fd_known
    return pa.array(np.where(has, view.res, 0).astype(np.uint64), mask=~has, type=pa.uint64())
