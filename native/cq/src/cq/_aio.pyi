"""Type stubs for cq._aio, the native poller thread of the asyncio layer."""

from ._cq import CompletionQueue, Event

class Poller:
    """A native thread that runs the queue's next() without the GIL and wakes
    an event loop through fileno(): one byte per batch, or per event."""

    per_event: bool
    finished: bool
    def __init__(self, queue: CompletionQueue, *, per_event: bool = False) -> None: ...
    def fileno(self) -> int:
        """The wake-up socket to watch for reading."""
    def drain(self) -> list[Event]:
        """Every queued event in one call (reads the wake-up bytes first)."""
    def read_wakeup(self) -> int:
        """Read one wake-up byte; 0 if none was waiting."""
    def pop(self) -> Event | None:
        """The oldest queued event, or None."""
    def pending(self) -> int: ...
    @property
    def thread_finished(self) -> bool: ...
    def stop(self) -> list[Event]:
        """Shut the queue down, join the thread, return the uncollected events."""
