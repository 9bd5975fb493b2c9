"""RawBatch's typed access on small hand-made batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stages.state.raw import RawBatch


def test_types_present_of_all_rows_and_of_some_rows() -> None:
    for column in (pa.array(["openat", "close", None, "execve", "openat"]),
                   pa.array(["openat", "close", None, "execve", "openat"]).dictionary_encode()):
        raw = RawBatch(pa.record_batch({"evt.type": column}))
        assert raw.types_present() == {"openat", "close", "execve"}
        assert raw.types_present(np.array([0, 2, 4])) == {"openat"}
        assert raw.types_present(np.array([1, 3])) == {"close", "execve"}
        assert raw.types_present(np.array([], dtype=np.int64)) == frozenset()
        assert raw.types_present() == {"openat", "close", "execve"}  # the rows' answer is not memoized as all
