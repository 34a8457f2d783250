"""Data: reading tables, profiling columns, quality checks with quarantine, and the feature processor."""

from lamarck.data._expr import (
    DerivedFeatures,
    FeatureDef,
    FeatureExpr,
    WithDerivedFeatures,
    evaluate_feature,
    parse_feature,
)
from lamarck.data._features import TEXT_ENCODINGS, FeatureProcessor, fingerprint, schema_of
from lamarck.data._io import is_table_pattern, named_columns, read_table
from lamarck.data._profile import ColumnProfile, DataProfile, profile
from lamarck.data._quality import Finding, QualityReport, check_quality
from lamarck.data._rows import RowEncoder

__all__ = [
    "TEXT_ENCODINGS",
    "ColumnProfile",
    "DataProfile",
    "DerivedFeatures",
    "FeatureDef",
    "FeatureExpr",
    "FeatureProcessor",
    "Finding",
    "QualityReport",
    "RowEncoder",
    "WithDerivedFeatures",
    "check_quality",
    "evaluate_feature",
    "fingerprint",
    "is_table_pattern",
    "named_columns",
    "parse_feature",
    "profile",
    "read_table",
    "schema_of",
]
