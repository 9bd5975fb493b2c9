"""Message kinds carried by the rings, and the batch tag they share.

Event rings (capture -> worker i) carry, in batch order:
  EVENTS  a batch worker i evaluates (an Arrow RecordBatch of events with the state they refer to);
  RELOAD  reload rules and config before the next batch (SIGHUP), so no event falls between old and new rules.
Alert rings (worker i -> output) carry ALERTS: the alerts of one EVENTS batch (possibly none), so the output
stage can put alerts back in event order across workers.

Every message's `seq` is the number of the batch it belongs to, counted by the capture stage from 0.
"""

EVENTS = 1
RELOAD = 3
ALERTS = 4


def worker_for(seq: int, workers: int) -> int:
    """Which worker evaluates batch `seq`: round robin, so the output stage knows where to look next."""
    return seq % workers
