"""A record of every Keras `fit` a run makes: its model, epochs, seconds and last metrics.

tools/executor.py installs it in every chapter's kernel (with COURSE_FIT_LOG naming the file), so
a run reports how long each chapter trained; on a GPU that is the measurement that replaces the
rehearsal's estimates. Nothing about the training itself changes.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from typing import Any

LOG_VARIABLE = "COURSE_FIT_LOG"


def _logged(fit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fit)
    def wrapper(self, *args: Any, **kwargs: Any):
        started = time.perf_counter()
        history = fit(self, *args, **kwargs)
        path = os.environ.get(LOG_VARIABLE, "").strip()
        if path:
            last = {k: float(v[-1]) for k, v in getattr(history, "history", {}).items() if v}
            with open(path, "a", encoding="utf-8") as out:
                out.write(
                    json.dumps(
                        {
                            "model": self.name,
                            "epochs": len(getattr(history, "epoch", [])),
                            "seconds": round(time.perf_counter() - started, 3),
                            "last": last,
                        }
                    )
                    + "\n"
                )
        return history

    wrapper.__dict__["fit_log"] = True  # the mark install() looks for
    return wrapper


def install() -> None:
    """Log every `keras.Model.fit` of this process into the file COURSE_FIT_LOG names."""
    import keras

    if not getattr(keras.Model.fit, "fit_log", False):
        keras.Model.fit = _logged(keras.Model.fit)
