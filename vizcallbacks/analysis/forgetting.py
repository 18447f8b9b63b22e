"""Example forgetting (Toneva et al., ICLR 2019, "An Empirical Study of Example Forgetting
during Deep Neural Network Learning"), from whether each tracked example was classified
right at each look.

Definitions, as the paper's:
- an example is *learned* at the first look where it is classified right
  (`first_learned_step`; None when it never is);
- a *forgetting event* is a look where it is classified wrong after being classified right
  at the look before (right -> wrong between two consecutive looks);
- an example is *unforgettable* when it is learned at some point and has no forgetting
  event (once learned, never forgotten). An example never learned is not unforgettable:
  the paper counts it as forgotten infinitely often.

One difference of protocol: the paper looks at an example when its minibatch is trained
on (with the training-mode model); here every tracked example is classified at every
frame, in inference mode, on the model as it stands after the frame's batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Forgetting", "forgetting", "correct_predictions", "class_indices"]


@dataclass(frozen=True, eq=False)
class Forgetting:
    """Per tracked example, what its looks so far say.

    Args:
        first_learned_step: the step of the first look it was right, or None; one per example.
        forgetting_events: how many times it went from right to wrong; one per example.
        unforgettable: learned and never forgotten so far; one bool per example.
    """

    first_learned_step: tuple[int | None, ...]
    forgetting_events: np.ndarray
    unforgettable: np.ndarray

    @property
    def unforgettable_fraction(self) -> float | None:
        """The fraction of examples unforgettable so far; None with no example."""
        return float(self.unforgettable.mean()) if len(self.unforgettable) else None


def forgetting(correct, steps) -> Forgetting:
    """Forgetting statistics from right/wrong looks (see the module's definitions).

    >>> stats = forgetting([[True, False], [False, False], [True, True]], steps=[10, 20, 30])
    >>> stats.first_learned_step, stats.forgetting_events.tolist(), stats.unforgettable.tolist()
    ((10, 30), [1, 0], [False, True])

    Args:
        correct: (looks, examples) bools: whether each example was classified right at
            each look, oldest look first.
        steps: the training step of each look.

    Returns:
        The `Forgetting` of every example.
    """
    correct = np.asarray(correct, dtype=bool)
    if correct.ndim != 2 or len(correct) != len(steps):
        raise ValueError(f"correct must be (looks, examples), one look per step ({len(steps)}). "
                         f"Received: shape {correct.shape}.")
    if len(correct) == 0:
        examples = correct.shape[1]
        return Forgetting((None,) * examples, np.zeros(examples, int), np.zeros(examples, bool))
    learned = correct.any(axis=0)
    first = correct.argmax(axis=0)
    events = (correct[:-1] & ~correct[1:]).sum(axis=0)
    first_steps = tuple(int(steps[index]) if was else None for index, was in zip(first, learned))
    return Forgetting(first_steps, events.astype(int), learned & (events == 0))


def class_indices(labels) -> np.ndarray:
    """Class indices from labels given as indices, one-hot rows or 0/1 values.

    Args:
        labels: (examples,) or (examples, 1) class indices or 0/1 targets, or
            (examples, classes) one-hot rows.

    Returns:
        An int array (examples,).
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        return labels.argmax(axis=1)
    return np.rint(labels.reshape(len(labels))).astype(int)


def correct_predictions(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether each prediction is right: the most probable class is the label's. A row of
    NaN (a diverged model) is wrong.

    Args:
        probabilities: (examples, classes) class probabilities.
        labels: (examples,) class indices (`class_indices`).

    Returns:
        A bool array (examples,).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    finite = ~np.isnan(probabilities).all(axis=1)
    guesses = np.where(np.isnan(probabilities), -np.inf, probabilities).argmax(axis=1)
    return finite & (guesses == labels)
