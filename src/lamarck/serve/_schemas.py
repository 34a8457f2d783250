"""Request bodies of the batch routes (the stream routes extend the feedback body)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=100_000, description="Rows to predict.")


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prediction_id: str = Field(min_length=1)
    label: Any = Field(description="The row's label (a class, or a number for a regression).")
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class FeedbackRequest(BaseModel):
    """Labels by prediction id (``items``), or rows that carry their label in ``label_column``."""

    model_config = ConfigDict(extra="forbid")
    items: list[FeedbackItem] | None = Field(default=None, max_length=100_000)
    rows: list[dict[str, Any]] | None = Field(default=None, max_length=100_000)
    label_column: str | None = None
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_form(self) -> FeedbackRequest:
        if bool(self.items) == bool(self.rows):
            raise ValueError("send either 'items' (prediction ids with labels) or 'rows' with 'label_column'")
        if self.rows and not self.label_column:
            raise ValueError("'rows' needs 'label_column', the column that holds each row's label")
        return self
