"""Write transactions that several store calls can share.

Each store method that writes opens a transaction, unless the caller holds a unit of work
(:meth:`allyshare.storage.Store.begin`), in which case it joins that one: a write and the
audit entry recording it commit together or not at all, without a store method for every
combination of writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, Engine


class Transactions:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._current: ContextVar[Connection | None] = ContextVar("transaction", default=None)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """The caller's unit of work if one is open in this context, else a new transaction."""
        current = self._current.get()
        if current is not None:
            yield current
            return
        with self._engine.begin() as connection:
            token = self._current.set(connection)
            try:
                yield connection
            finally:
                self._current.reset(token)
