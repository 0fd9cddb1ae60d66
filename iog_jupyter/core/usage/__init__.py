"""Usage accounting: who held the GPUs (and CPUs, memory), for how long, and whether they used them.

Fed by the sessions poller's samples (no Ray call of its own), stored per minute in SQLite.
"""

from .accountant import UsageAccountant, build_report
from .holdings import Holding
from .store import UsageStore

__all__ = ["Holding", "UsageAccountant", "UsageStore", "build_report"]
