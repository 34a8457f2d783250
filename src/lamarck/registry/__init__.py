"""Registry: model versions, aliases (``champion``), lineage, load by version or alias; on MLflow."""

from lamarck.registry._pickle import MOVED_MODULES
from lamarck.registry._pickle import load as load_pickle
from lamarck.registry._pickle import loads as loads_pickle
from lamarck.registry._registry import ModelVersionInfo, Registry

__all__ = ["MOVED_MODULES", "ModelVersionInfo", "Registry", "load_pickle", "loads_pickle"]
