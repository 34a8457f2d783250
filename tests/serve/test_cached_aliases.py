"""The alias cache: readers never wait for a refresh once there is a value, and a value read before an
invalidation never comes back after it."""

import threading
import time

from lamarck.serve._state import Cached


def test_an_expired_value_is_refreshed_in_the_background() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def compute() -> int:
        calls.append(1)
        if len(calls) > 1:
            gate.wait(5)  # a slow registry
        return len(calls)

    cache = Cached(compute, ttl=0.0)
    assert cache.get() == 1
    t0 = time.monotonic()
    assert cache.get() == 1  # expired: the old value at once, a refresh started
    assert time.monotonic() - t0 < 0.5
    gate.set()
    deadline = time.monotonic() + 5
    while cache.get() != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get() >= 2


def test_a_refresh_begun_before_an_invalidation_is_dropped() -> None:
    world = {"champion": "1"}
    started, release = threading.Event(), threading.Event()

    def compute() -> dict[str, str]:
        seen = dict(world)
        if threading.current_thread().name == "lamarck-cache":
            started.set()
            release.wait(5)  # the refresh read the old aliases, then stalls
        return seen

    cache = Cached(compute, ttl=0.0)
    assert cache.get() == {"champion": "1"}
    cache.get()  # starts the background refresh, which reads champion 1
    assert started.wait(5)
    world["champion"] = "2"  # a promotion by this server...
    cache.invalidate()  # ...drops the cache
    assert cache.get() == {"champion": "2"}
    release.set()
    time.sleep(0.2)  # the stale refresh finishes: it must not bring version 1 back
    cache.ttl = 60.0
    assert cache.get() == {"champion": "2"}


def test_a_failed_refresh_keeps_the_value() -> None:
    state = {"fail": False}

    def compute() -> str:
        if state["fail"]:
            raise RuntimeError("registry down")
        return "ok"

    cache = Cached(compute, ttl=0.0)
    assert cache.get() == "ok"
    state["fail"] = True
    for _ in range(20):
        assert cache.get() == "ok"
        time.sleep(0.01)
