"""Linear CKA (Kornblith et al., ICML 2019): how alike two layers' representations of the
same inputs are, from 0 (unrelated) to 1 (the same up to rotation and scale).

Two forms give the same number: from the activations themselves (n inputs x p features,
cheap when p is small) and from their n x n Gram matrices (cheap when n << p, a conv
layer's thousands of features). The Gram form is what the dynamics tracker keeps per
frame: a fixed n x n matrix per layer whatever the layer's width, so memory is bounded.
"""

from __future__ import annotations

import numpy as np

__all__ = ["linear_cka", "centered_gram", "cka_from_grams"]


def _as_matrix(activations, argument: str, dtype=np.float64) -> np.ndarray:
    """(n inputs, features) of `dtype`: every axis after the first is a feature axis."""
    array = np.asarray(activations)
    if array.ndim < 2 or array.shape[0] < 2:
        raise ValueError(f"{argument} must be an array (inputs, features...) of at least 2 inputs. "
                         f"Received: shape {array.shape}.")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{argument} must hold real numbers. Received: dtype {array.dtype}.")
    return array.reshape(len(array), -1).astype(dtype, copy=False)


def centered_gram(activations, *, dtype=np.float64) -> np.ndarray:
    """The centred linear Gram matrix H X X^T H of a layer's activations (H centres the n
    inputs): what linear CKA needs of a layer, n x n whatever its width.

    Args:
        activations: (n inputs, features...) array; trailing axes are flattened.
        dtype: the precision it is computed in: float32 is about 5 times faster on a wide
            conv layer (what the tracker uses every frame), CKA then good to about 1e-5.

    Returns:
        A (n, n) array of `dtype`.
    """
    matrix = _as_matrix(activations, "activations", dtype)
    matrix = matrix - matrix.mean(axis=0, keepdims=True)  # centring X's columns = H X
    return matrix @ matrix.T


def cka_from_grams(gram_x: np.ndarray, gram_y: np.ndarray) -> float:
    """Linear CKA from two centred Gram matrices of the same n inputs (`centered_gram`).

    Args:
        gram_x: (n, n) centred Gram matrix of the first representation.
        gram_y: (n, n) centred Gram matrix of the second.

    Returns:
        <Kx, Ky> / (||Kx|| ||Ky||), in [0, 1]; NaN when a representation is constant over
        the inputs (a dead layer), where similarity is undefined.
    """
    gram_x, gram_y = np.asarray(gram_x, np.float64), np.asarray(gram_y, np.float64)
    if gram_x.shape != gram_y.shape or gram_x.ndim != 2 or gram_x.shape[0] != gram_x.shape[1]:
        raise ValueError("gram_x and gram_y must be square matrices of the same inputs. "
                         f"Received: shapes {gram_x.shape} and {gram_y.shape}.")
    norms = np.linalg.norm(gram_x) * np.linalg.norm(gram_y)
    if not norms > 0:
        return float("nan")
    return float(np.clip(np.vdot(gram_x, gram_y) / norms, 0.0, 1.0))


def linear_cka(x, y) -> float:
    """Linear CKA of two representations of the same n inputs:
    ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), columns centred. Invariant to rotations,
    isotropic scaling and shifts of either; the two may have different widths.

    >>> np.random.seed(1337)
    >>> x = np.random.randn(100, 10)
    >>> round(linear_cka(x, np.random.randn(100, 10) + x), 5)
    0.55761

    Computed from the features when both are narrower than n, else from the n x n Gram
    matrices (`cka_from_grams`); the two agree to rounding.

    Args:
        x: (n inputs, features...) array; trailing axes are flattened.
        y: (n inputs, features...) array of the same inputs.

    Returns:
        A float in [0, 1]; NaN when either is constant over the inputs.

    Raises:
        ValueError: the arrays do not hold the same number (at least 2) of inputs.
        TypeError: an array does not hold real numbers.
    """
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must hold the same inputs. Received: {len(x)} and {len(y)} rows.")
    if max(x.shape[1], y.shape[1]) >= len(x):
        return cka_from_grams(centered_gram(x), centered_gram(y))
    x = x - x.mean(axis=0, keepdims=True)
    y = y - y.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    if not norms > 0:
        return float("nan")
    return float(np.clip(np.linalg.norm(y.T @ x) ** 2 / norms, 0.0, 1.0))
