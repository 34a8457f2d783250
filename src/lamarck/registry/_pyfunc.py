"""The MLflow pyfunc wrapper: MLflow's own tools load a Lamarck model through it."""

from __future__ import annotations

import warnings
from typing import Any

from mlflow.pyfunc import PythonModel

# MLflow asks for type hints when the class is created (and forces its own "once" filter, so an ignore
# filter cannot silence it); our predict takes any frame, so the advice is muted here only.
_show = warnings.showwarning
warnings.showwarning = lambda *args, **kwargs: None
try:

    class LamarckPyfunc(PythonModel):
        """Holds the pickled Lamarck model; ``predict`` returns labels/values, or probabilities with
        ``params={"proba": True}``."""

        def load_context(self, context: Any) -> None:
            from lamarck.registry._pickle import load

            with open(context.artifacts["model"], "rb") as fh:
                self.model = load(fh)  # pickle.load, with Lamarck's moved modules mapped

        def predict(self, context, model_input, params=None):  # no hints on purpose: MLflow reads them
            import pandas as pd

            if params and params.get("proba") and hasattr(self.model, "predict_proba"):
                return pd.DataFrame(
                    self.model.predict_proba(model_input), columns=[str(c) for c in self.model.classes_]
                )
            return pd.Series(self.model.predict(model_input), name="prediction")
finally:
    warnings.showwarning = _show
