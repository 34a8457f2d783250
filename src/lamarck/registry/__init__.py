"""Registry: model versions, aliases (``champion``), lineage, load by version or alias; on MLflow."""

from lamarck.registry._registry import ModelVersionInfo, Registry

__all__ = ["ModelVersionInfo", "Registry"]
