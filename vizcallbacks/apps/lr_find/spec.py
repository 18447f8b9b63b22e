"""`RangeTestSpec`: what a learning-rate range test does, as one immutable value, checked
once when it is made; `LR_FIND_STYLE`, how its frames look by default (a `FrameStyle`).

>>> spec = RangeTestSpec(min_lr=1e-3, max_lr=1.0, batches=100, optimizer="adam")
>>> spec.lr_range.factor
1.0722...
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from ...checks import check_positive_int, check_positive_number, check_seed, is_real
from ...render.style import FrameStyle
from ..compare.schedule import DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS
from .rule import DIVERGENCE_FACTOR, FRACTION, SMOOTHING, LearningRateRange

__all__ = ["RangeTestSpec", "LR_FIND_STYLE"]

#: How a range test's frames look unless told: four layers of the default CNN, channel 1 of
#: each image, 48-pixel cells (the loss strip is drawn under the grid).
LR_FIND_STYLE = FrameStyle(layers=DEFAULT_LAYERS, channels=(1,), channels_per_image=1, cell_px=48)


@dataclasses.dataclass(frozen=True)
class RangeTestSpec:
    """What a learning-rate range test trains, and how it reads the loss.

    Args:
        min_lr: the first batch's learning rate.
        max_lr: the last batch's, if training has not diverged before.
        batches: batches at most, at least 2 (a few hundred).
        batch_size: examples per batch.
        optimizer: a Keras optimizer name (see `vizcallbacks.apps.compare.OPTIMIZERS`).
        seed: initial weights and the order of the examples.
        smoothing: the moving average's weight of the past, in [0, 1).
        divergence_factor: k, above 1: diverged when the smoothed loss passes k x its lowest.
        fraction: the range ends at most at this fraction of the divergence point, in (0, 1].
        dataset: "fashion_mnist" or "mnist".
        data_dir: the folder of the dataset's files; default: where `load_dataset` looks.
        image_indices: test-set indices of the images the frames show.

    Attributes:
        lr_range: (made, not given) the learning rate of each batch.

    Raises:
        ValueError: a field is not valid; the message names it.
    """

    min_lr: float = 1e-4
    max_lr: float = 10.0
    batches: int = 200
    batch_size: int = 64
    optimizer: str = "sgd"
    seed: int = 0
    smoothing: float = SMOOTHING
    divergence_factor: float = DIVERGENCE_FACTOR
    fraction: float = FRACTION
    dataset: str = "fashion_mnist"
    data_dir: str | None = None
    image_indices: Sequence[int] = DEFAULT_IMAGE_INDICES
    #: The learning rate of each batch.
    lr_range: LearningRateRange = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        from ..compare.configs import HYPERPARAMETERS
        from ...demos.datasets import canonical_name, check_test_indices

        object.__setattr__(self, "lr_range", LearningRateRange(self.min_lr, self.max_lr, self.batches))
        check_positive_int(self.batch_size, "batch_size")
        if not is_real(self.smoothing) or not 0 <= self.smoothing < 1:
            raise ValueError(f"smoothing must be a number in [0, 1). Received: smoothing={self.smoothing!r}.")
        factor = self.divergence_factor
        if not is_real(factor) or not factor > 1 or not math.isfinite(factor):
            raise ValueError(f"divergence_factor must be a number above 1. Received: divergence_factor={factor!r}.")
        if check_positive_number(self.fraction, "fraction") > 1:
            raise ValueError(f"fraction must be in (0, 1]. Received: fraction={self.fraction!r}.")
        check_seed(self.seed)
        object.__setattr__(self, "optimizer", HYPERPARAMETERS["optimizer"].check(self.optimizer, "optimizer"))
        object.__setattr__(self, "image_indices", tuple(check_test_indices(self.image_indices)))
        canonical_name(self.dataset)

    def replace(self, **changes) -> RangeTestSpec:
        """A copy with `changes` (field=value) applied and checked again.

        Args:
            **changes: fields of `RangeTestSpec` and their new values.
        """
        return dataclasses.replace(self, **changes)
