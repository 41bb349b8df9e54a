"""engine.layer_space: the plane as a hidden layer sees it (PCA or chosen units), and separability."""

import numpy as np
import pytest

import engine
from engine import layer_space


@pytest.fixture(scope="module")
def circles():
    """A circles net with a 2-unit last hidden layer, before and after training."""
    config = engine.presets["circles"].replace(sizes=[2, 8, 2, 1], epochs=300)
    fresh = engine.build(config)
    trained = engine.build(config)
    trained.fit(300)
    assert trained.evaluate()["accuracy"] == 1.0
    return fresh, trained


def test_pca_axes_are_the_first_two_principal_components(circles):
    _, t = circles
    space = layer_space.project(t.net, t.X, t.Y, 1)
    assert space.mode == "pca" and space.width == 8 and space.axes[0].startswith("PC1")
    _, cache = t.net.forward(t.X)
    H = cache["A1"]
    C = H - H.mean(axis=0)
    _, S, Vt = np.linalg.svd(C, full_matrices=False)
    for k in range(2):  # the same axes up to sign; the variance along each is the k-th singular value^2
        proj = C @ Vt[k]
        assert np.allclose(np.abs(space.points[:, k]), np.abs(proj), atol=1e-10)
        assert np.isclose(space.points[:, k].var() * len(H), S[k] ** 2)
    assert abs(space.points[:, 0] @ space.points[:, 1]) < 1e-8  # uncorrelated, as components are
    # The grid is projected on the same components: the plane's corner (x1 lo, x2 lo) lands where A1 of it does.
    (x0, y0), _ = layer_space.extent(t.X)
    _, c2 = t.net.forward(np.array([[x0, y0]]))
    mean, comps, _ = layer_space.principal_axes(H)
    assert np.allclose(space.grid[0, 0], (c2["A1"][0] - mean) @ comps.T)


def test_chosen_units_are_the_units_activations(circles):
    _, t = circles
    space = layer_space.project(t.net, t.X, t.Y, 1, units=(3, 5))
    _, cache = t.net.forward(t.X)
    assert space.mode == "units" and space.axes == ("A1[3]", "A1[5]")
    assert np.array_equal(space.points, cache["A1"][:, [3, 5]])
    two = layer_space.project(t.net, t.X, t.Y, 2)   # two units: drawn as they are, no PCA
    assert two.mode == "units" and np.array_equal(two.points, cache["A2"])
    with pytest.raises(ValueError, match="no unit 9"):
        layer_space.project(t.net, t.X, t.Y, 1, units=(0, 9))
    with pytest.raises(ValueError, match="layer must be 0"):
        layer_space.project(t.net, t.X, t.Y, 3)


def test_a_trained_circles_net_makes_the_classes_linearly_separable(circles):
    fresh, t = circles
    plane = layer_space.project(t.net, t.X, t.Y, 0)
    assert plane.mode == "input" and np.array_equal(plane.points, t.X)
    assert plane.separable < 0.8                        # rings: no line splits them in the input plane
    assert layer_space.project(fresh.net, fresh.X, fresh.Y, 2).separable < 0.8   # nor before training
    assert layer_space.project(t.net, t.X, t.Y, 2).separable == 1.0            # the trained last layer does


def test_separability_of_plain_point_sets():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(200, 2))
    assert layer_space.separability(P, (P[:, 0] + 0.3 * P[:, 1] > 0.1).astype(int)) == 1.0
    xor = (P[:, 0] > 0) ^ (P[:, 1] > 0)
    assert layer_space.separability(P, xor.astype(int)) < 0.8
    assert layer_space.separability(P, rng.integers(0, 3, 200)) is None  # three classes: not measured
    P[0] = np.nan
    assert layer_space.separability(P, xor.astype(int)) is None


def test_decision_field_is_the_networks_prediction_on_the_plane(circles):
    _, t = circles
    ext = layer_space.extent(t.X)
    classes, conf = layer_space.decision_field(t.net, ext, 6, 7)
    grid = layer_space.plane(ext, 6, 7)
    assert classes.shape == (6, 7) and np.array_equal(classes.ravel(), (t.net.predict(grid)[:, 0] > 0.5))
    assert (conf >= 0).all() and (conf <= 1).all()
    assert np.allclose(grid[0], [ext[0][0], ext[1][1]])  # the top-left pixel: smallest x1, largest x2
