"""course_utils.fit_log: every fit is recorded, and training is the same with or without it."""

from __future__ import annotations

import json

import keras
import numpy as np

from course_utils import fit_log


def test_a_fit_is_logged_with_its_epochs_seconds_and_last_metrics(monkeypatch, tmp_path):
    log = tmp_path / "fits.jsonl"
    monkeypatch.setenv(fit_log.LOG_VARIABLE, str(log))
    monkeypatch.setattr(keras.Model, "fit", keras.Model.fit)  # Keras' own fit comes back after
    x, y = np.random.default_rng(0).normal(size=(32, 3)), np.zeros(32)

    def trained() -> np.ndarray:
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)], name="probe")
        model.compile("sgd", "mse")
        model.fit(x, y, epochs=2, verbose=0)
        return model.get_weights()[0]

    plain = trained()
    fit_log.install()
    fit_log.install()  # twice: still one record per fit
    logged = trained()
    np.testing.assert_array_equal(plain, logged)
    [record] = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["model"] == "probe" and record["epochs"] == 2 and record["seconds"] > 0
    assert set(record["last"]) == {"loss"}
