"""Unpickling that survives Lamarck's own module moves.

A model version or a stream checkpoint is a pickle, and a pickle names the module of every class in it.
When a class moves (the stream learner went from ``lamarck.evolve._stream*`` to ``lamarck.stream`` in
0.1), files saved before the move name a module that no longer exists. :func:`loads` reads them with
the module names mapped to where the classes live now; nothing else differs from ``pickle.loads``.

    >>> import pickle
    >>> loads(pickle.dumps({"a": 1}))
    {'a': 1}
    >>> _moved("lamarck.evolve._stream_members")
    'lamarck.stream._members'
"""

from __future__ import annotations

import io
import pickle
from typing import IO, Any

__all__ = ["MOVED_MODULES", "load", "loads"]

#: old module -> module the same classes live in now
MOVED_MODULES = {
    "lamarck.evolve._stream": "lamarck.stream._learner",
    "lamarck.evolve._stream_members": "lamarck.stream._members",
    "lamarck.evolve._stream_context": "lamarck.stream._context",
    "lamarck.evolve._stream_boost": "lamarck.stream._boost",
    "lamarck.evolve._stream_events": "lamarck.stream._events",
    "lamarck.evolve._stream_run": "lamarck.stream._session",
    "lamarck.evolve._memory": "lamarck.stream._memory",
}


def _moved(module: str) -> str:
    return MOVED_MODULES.get(module, module)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(_moved(module), name)


def load(fh: IO[bytes]) -> Any:
    """``pickle.load`` with moved modules mapped (cloudpickle files are plain pickles to read)."""
    return _Unpickler(fh).load()


def loads(data: bytes) -> Any:
    """``pickle.loads`` with moved modules mapped."""
    return load(io.BytesIO(data))
