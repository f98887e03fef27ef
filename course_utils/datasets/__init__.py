"""Data loaders, one module per data set, and what every loader promises.

Array loaders return ((x_train, y_train), (x_test, y_test)): two `Split`s. Every loader takes
the run mode into account and prints which data it used (`announce`), so a quick run never
passes for a full one.
"""

from __future__ import annotations

import numpy as np

Split = tuple[np.ndarray, np.ndarray]  # (images, labels or masks)


def announce(description: str) -> None:
    """Print the one line every chapter shows about its data."""
    print(f"data: {description}")
