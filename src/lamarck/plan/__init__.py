"""Planning: the sentence and the data → a verified :class:`TaskSpec`."""

from lamarck.plan._spec import Reason, ReasonSource, TaskSpec, TaskType

__all__ = ["Reason", "ReasonSource", "TaskSpec", "TaskType"]
