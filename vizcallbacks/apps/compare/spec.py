"""`Comparison`: what a comparison varies and what it holds fixed, as one immutable value,
checked once when it is made; and `COMPARE_STYLE`, how its panels look by default (a
`FrameStyle`). `compare_runs(Comparison(...), style=..., out_dir=...)` runs it.

>>> comparison = Comparison(vary={"learning_rate": [0.01, 0.05, 0.2]}, seeds=3, examples=8192)
>>> [config.name for config in comparison.configs], comparison.seed_list
(['lr0.01', 'lr0.05', 'lr0.2'], (0, 1, 2))
>>> wider = comparison.replace(examples=30000)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from ...checks import check_bool, check_positive_int
from ...render.style import FrameStyle
from .configs import Config, check_seeds, plan_configs
from .schedule import DEFAULT_IMAGE_INDICES, DEFAULT_LAYERS, Schedule, plan_schedule

__all__ = ["Comparison", "COMPARE_STYLE", "check_compare_style"]

#: How a comparison's panels look unless told: four layers of the default CNN, channel 1 of
#: each image, 48-pixel cells.
COMPARE_STYLE = FrameStyle(layers=DEFAULT_LAYERS, channels=(1,), channels_per_image=1, cell_px=48)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What a comparison varies (`vary`, `seeds`) and holds fixed (everything else), so
    that its runs differ by their configuration and seed alone.

    Checked once, here, with the configurations, seeds and schedule it makes (`configs`,
    `seed_list`, `schedule`); what needs the data (the dataset's files, test-set indices in
    range) is checked by `compare_runs` before any run starts.

    Args:
        vary: hyper-parameter -> values: "batch_size", "learning_rate", "optimizer" (see
            `HYPERPARAMETERS`); several make a grid. At least two configurations.
        seeds: None (one run per configuration, from `seed`), a count N (seeds `seed`,
            `seed` + 1, ...) or a list of seeds.
        seed: the first seed; the held-out sample is drawn from it for every run.
        batch_size: the batch size where it does not vary.
        learning_rate: the learning rate where it does not vary (with `scale_lr`: at the
            reference batch).
        optimizer: a Keras optimizer name (see `OPTIMIZERS`) where it does not vary.
        scale_lr: None, or "linear": the learning rate times batch / `reference_batch`.
        reference_batch: the batch size `learning_rate` is for, with `scale_lr`; default
            the smallest batch size compared.
        examples: training examples every run reads, rounded down to a multiple of every
            batch size when one fits (see `plan_schedule`).
        align: what each frame holds equal: "examples", "steps" or "time" (see `compare_runs`).
        every_examples: examples between points (align "examples" or "time"); default
            about 40 points.
        every_steps: updates between points (align "steps"); default about 40 points.
        dataset: "fashion_mnist" or "mnist".
        data_dir: the folder of the dataset's files; default where `load_dataset` looks
            (on a Dask worker too, where that worker looks).
        heldout_size: test images every point is evaluated on.
        image_indices: test-set indices of the images each panel shows.
        threads_per_run: the backend's threads per run; results depend on it, not on how
            many runs go at once.
        dynamics: measure every run's learning dynamics (`vizcallbacks.Dynamics`: the same
            512 tracked training examples in every run) into `runs/<run>/dynamics.json`,
            and put the configurations' side by side in `summary.json`. Its `steps` are
            the run's store's (examples seen, when aligned by examples).

    Attributes:
        configs: (made, not given) the configurations, in order.
        seed_list: (made, not given) the seeds every configuration runs with.
        schedule: (made, not given) when every run captures, and how much data it reads.

    Raises:
        ValueError: a field is not valid; the message names it.
    """

    vary: Mapping[str, Sequence]
    seeds: int | Sequence[int] | None = None
    seed: int = 0
    batch_size: int = 32
    learning_rate: float = 0.05
    optimizer: str = "sgd"
    scale_lr: str | None = None
    reference_batch: int | None = None
    examples: int = 30000
    align: str = "examples"
    every_examples: int | None = None
    every_steps: int | None = None
    dataset: str = "fashion_mnist"
    data_dir: str | None = None
    heldout_size: int = 1000
    image_indices: tuple[int, ...] = DEFAULT_IMAGE_INDICES
    threads_per_run: int = 1
    dynamics: bool = False
    #: The configurations, in order (made from `vary` and the fixed hyper-parameters).
    configs: tuple[Config, ...] = dataclasses.field(init=False, repr=False, compare=False)
    #: The seeds every configuration runs with, in order.
    seed_list: tuple[int, ...] = dataclasses.field(init=False, repr=False, compare=False)
    #: When every run captures, and how much data it reads.
    schedule: Schedule = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        from ...demos.datasets import canonical_name, check_test_indices

        configs = plan_configs(self.vary, batch_size=self.batch_size, learning_rate=self.learning_rate,
                               optimizer=self.optimizer, scale_lr=self.scale_lr,
                               reference_batch=self.reference_batch)
        self._set("vary", {name: tuple(values) for name, values in dict(self.vary).items()})
        self._set("configs", configs)
        self._set("seed_list", check_seeds(self.seeds, seed=self.seed))
        self._set("schedule", plan_schedule(sorted({c.batch_size for c in configs}), self.examples, align=self.align,
                                            every_examples=self.every_examples, every_steps=self.every_steps))
        canonical_name(self.dataset)
        check_positive_int(self.heldout_size, "heldout_size")
        self._set("image_indices", tuple(int(i) for i in check_test_indices(self.image_indices)))
        check_positive_int(self.threads_per_run, "threads_per_run")
        check_bool(self.dynamics, "dynamics")
        self._set("data_dir", None if self.data_dir is None else str(self.data_dir))

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    __hash__ = None  # `vary` is a mapping

    def replace(self, **changes) -> Comparison:
        """A copy with `changes` (field=value) applied and checked again.

        Args:
            **changes: fields of `Comparison` and their new values.
        """
        fields = {field.name for field in dataclasses.fields(self) if field.init}
        unknown = sorted(set(changes) - fields)
        if unknown:
            raise TypeError(f"Comparison has no field {', '.join(unknown)}. Valid: {', '.join(sorted(fields))}.")
        return dataclasses.replace(self, **changes)

    @property
    def reference(self) -> int | None:
        """The batch size the learning rate is given for, with `scale_lr`; else None."""
        if not self.scale_lr:
            return None
        return self.reference_batch or min(c.batch_size for c in self.configs)


def check_compare_style(style) -> FrameStyle:
    """`style` for a comparison's panels: a `FrameStyle` of named layers (the default CNN's),
    without a vocabulary (images, not tokens); None is `COMPARE_STYLE`.

    Args:
        style: a `FrameStyle`, or None.

    Returns:
        The style.

    Raises:
        TypeError: `style` is not a `FrameStyle`.
        ValueError: its layers are not names, or it has a vocabulary.
    """
    if style is None:
        return COMPARE_STYLE
    if not isinstance(style, FrameStyle):
        raise TypeError(f"style must be a vizcallbacks.FrameStyle, such as COMPARE_STYLE.replace(cmap='viridis'). "
                        f"Received: style={style!r}.")
    layers = style.layers
    if not isinstance(layers, tuple) or not layers or not all(isinstance(name, str) for name in layers):
        raise ValueError(f"style.layers must be a non-empty list of layer names, e.g. {list(DEFAULT_LAYERS)}. "
                         f"Received: layers={layers!r}.")
    if style.vocabulary is not None:
        raise ValueError("style.vocabulary: compare's panels show images, not token ids. Leave it out.")
    return style
