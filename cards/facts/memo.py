"""BoundedMemo: the one process-wide memo policy of cards.facts, bounded whatever the senders send.

Codes, reference ranges and problem-list entries repeat across charts, so what the builder works out from them
(the analyte of a coding, the validated model of an element, whether a Condition is in a value set) is kept for the
life of the worker process. A sender of ever-new content must not make that grow without end, and a hit must cost
no more than a dict look-up: the pre-filter looks up the `code` of every Observation sent (5,000 for a heavy
patient).

The policy - two generations: new entries go into the young generation (the dict itself, so a hit is a plain
``memo[key]`` in C); when it holds ``max_entries // 2`` entries it becomes the old generation (the previous old one
is dropped) and a new young one starts. A key found in the old generation moves back to the young one. So an entry
in use at least once per ``max_entries // 2`` new keys is never dropped (the potassium code every request reads
outlives a stream of new values), the memo never holds more than ``max_entries`` entries, and one whose key is larger
than ``max_key_size`` is computed but not kept. Each memo's limits and what an entry costs are written where it is
defined.
"""
from __future__ import annotations

from typing import Callable, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(dict[K, V]):
    """``memo[key]`` is ``compute(key)``, computed once per key while the key is kept (see the module docstring).

    Read it by subscription only: ``get``, ``in`` and ``len`` see the young generation alone. An exception raised by
    ``compute`` reaches the caller and nothing is kept, so a failure is computed again every time; an unhashable key
    raises TypeError as a dict does. Thread-safe as far as a memo needs: two threads may compute the same key, and
    an entry inserted while the generations turn over may be lost (it is computed again).
    """

    def __init__(self, compute: Callable[[K], V], *, max_entries: int,
                 key_size: Callable[[K], int] | None = None, max_key_size: int = 0) -> None:
        """:param key_size: with ``max_key_size``, the size of a key (bytes or characters) beyond which it is not
        kept: what makes memory bounded when senders choose the keys' content."""
        super().__init__()
        if max_entries < 2:
            raise ValueError("max_entries must be at least 2 (two generations)")
        if (key_size is None) != (max_key_size <= 0):
            raise ValueError("key_size and max_key_size go together")
        self._compute = compute
        self._generation = max_entries // 2
        self._key_size = key_size
        self._max_key_size = max_key_size
        self._old: dict[K, V] = {}

    def __missing__(self, key: K) -> V:
        try:
            value = self._old.pop(key)
        except KeyError:
            value = self._compute(key)
            if self._key_size is not None and self._key_size(key) > self._max_key_size:
                return value
        if len(self) >= self._generation:
            self._old = self.copy()
            self.clear()
        self[key] = value
        return value

    @property
    def max_entries(self) -> int:
        return 2 * self._generation

    def entries(self) -> int:
        """How many entries are kept, both generations."""
        return len(self) + len(self._old)

    def kept(self, key: K) -> bool:
        """Whether `key` is kept (in either generation), without computing or moving it."""
        return key in self or key in self._old

    def forget(self) -> None:
        """Drop every entry (tests start from an empty memo)."""
        self.clear()
        self._old = {}
