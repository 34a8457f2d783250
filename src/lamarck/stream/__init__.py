"""Stream: online learning one event at a time, and surviving concept drift.

``StreamLearner`` is an evolving population of river pipelines (members, mutation, an ADWIN detector per
member, an archive of earlier concepts' members), a stream context, and a LightGBM member retrained in
the background on a memory pool. A stream is read in order (``EventSchema`` checks each event; a bad one
is quarantined), run as a ``StreamSession`` with checkpoints, and registered with alias ``stream``.

    >>> from river.datasets import synth
    >>> learner = StreamLearner(population=2, hybrid=False, seed=0)
    >>> right = sum(learner.process_one(x, y) == y for x, y in synth.SEA(seed=1).take(500))
    >>> right > 400, learner.n_learned_
    (True, 500)

This package imports nothing of Lamarck above it (``evolve``, ``project``, ``serve``, ``cli``): the
batch loop uses the stream's decay detector and memory pool, not the other way round.
"""

from lamarck.stream._context import StreamContext
from lamarck.stream._decay import DecayDetector
from lamarck.stream._events import EventSchema, label_key, read_events
from lamarck.stream._kafka import KafkaSource, commit_quietly, is_kafka, lag_of, read_properties, resume_at
from lamarck.stream._layer import OnlineLayer, Seen, sign_test
from lamarck.stream._learner import Pending, StreamLearner, load_state, save_state
from lamarck.stream._members import KINDS, MemberConfig, member_config
from lamarck.stream._members import build as build_member
from lamarck.stream._memory import MemoryPool, PoolRow, hardness
from lamarck.stream._session import (
    STREAM_METRICS,
    StreamResult,
    StreamSession,
    register_stream,
    run_session,
    stream_project,
)

__all__ = [
    "KINDS",
    "STREAM_METRICS",
    "DecayDetector",
    "EventSchema",
    "KafkaSource",
    "MemberConfig",
    "MemoryPool",
    "OnlineLayer",
    "Pending",
    "PoolRow",
    "Seen",
    "StreamContext",
    "StreamLearner",
    "StreamResult",
    "StreamSession",
    "build_member",
    "commit_quietly",
    "hardness",
    "is_kafka",
    "label_key",
    "lag_of",
    "load_state",
    "member_config",
    "read_events",
    "read_properties",
    "register_stream",
    "resume_at",
    "run_session",
    "save_state",
    "sign_test",
    "stream_project",
]
