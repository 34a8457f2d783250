"""Files saved before a module moved still load: the stream learner left lamarck.evolve in 0.1."""

from __future__ import annotations

import pickle

from lamarck.registry import MOVED_MODULES, loads_pickle
from lamarck.stream import StreamLearner


def test_a_pickle_naming_the_old_stream_modules_loads():
    learner = StreamLearner(seed=3)
    data = pickle.dumps(learner, protocol=0)  # protocol 0 names classes as "module\nname\n" text
    new, old = b"lamarck.stream._learner\n", b"lamarck.evolve._stream\n"
    assert new in data
    old_file = data.replace(new, old)
    assert old in old_file
    try:
        pickle.loads(old_file)
        raise AssertionError("plain pickle found the old module; the test proves nothing")
    except ModuleNotFoundError:
        pass
    loaded = loads_pickle(old_file)
    assert type(loaded) is StreamLearner and loaded.get_params() == learner.get_params()


def test_every_moved_module_points_at_an_importable_module():
    import importlib

    for new in MOVED_MODULES.values():
        importlib.import_module(new)


def test_the_registered_requirements_name_the_installed_xgboost_build():
    from importlib.metadata import PackageNotFoundError, version

    from lamarck.registry._registry import _requirements

    names = {r.split("==")[0] for r in _requirements()}
    installed = set()
    for pkg in ("xgboost", "xgboost-cpu"):
        try:
            version(pkg)
            installed.add(pkg)
        except PackageNotFoundError:
            pass
    assert installed and installed <= names
