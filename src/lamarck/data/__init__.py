"""Data: reading tables, profiling columns, quality checks with quarantine, and the feature processor."""

from lamarck.data._features import FeatureProcessor, fingerprint, schema_of
from lamarck.data._io import read_table
from lamarck.data._profile import ColumnProfile, DataProfile, profile
from lamarck.data._quality import Finding, QualityReport, check_quality

__all__ = [
    "ColumnProfile",
    "DataProfile",
    "FeatureProcessor",
    "Finding",
    "QualityReport",
    "check_quality",
    "fingerprint",
    "profile",
    "read_table",
    "schema_of",
]
