"""engine.metrics: the decision rule agrees with accuracy; confusion counts add up."""

from __future__ import annotations

import numpy as np

import engine
import engine.metrics as metrics
from engine.trainer import accuracy


def test_predicted_classes_threshold_and_argmax():
    A1 = np.array([[0.2], [0.5], [0.51], [0.9]])
    assert metrics.predicted_classes(A1).tolist() == [0, 0, 1, 1]
    A3 = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    assert metrics.predicted_classes(A3).tolist() == [1, 0]


def test_confidence_is_zero_on_the_boundary_and_one_when_certain():
    assert metrics.confidence(np.array([[0.5], [1.0], [0.0], [0.75]])).tolist() == [0.0, 1.0, 1.0, 0.5]
    assert metrics.confidence(np.array([[1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])).tolist() == [0.0, 1.0]


def test_confusion_agrees_with_accuracy():
    for preset in ("default", "spiral"):
        trainer = engine.build(engine.presets[preset])
        for _ in range(30):
            trainer.step()
        counts = metrics.confusion(trainer.net, trainer.X, trainer.Y)
        assert counts.sum() == len(trainer.X)
        assert counts.shape == (max(2, trainer.Y.shape[1]),) * 2
        acc = accuracy(trainer.net.predict(trainer.X), trainer.Y)
        assert np.trace(counts) / counts.sum() == acc
        true = metrics.predicted_classes(trainer.Y)
        assert counts.sum(axis=1).tolist() == np.bincount(true, minlength=counts.shape[0]).tolist()
