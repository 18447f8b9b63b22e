"""Which configurations a comparison trains, as pure functions: the hyper-parameters that
vary (several make a grid), the learning rate scaled with the batch size when asked, and
the seeds every configuration is repeated with.

Each hyper-parameter is one entry of `HYPERPARAMETERS` (how its values are checked, read
from the command line, labelled and named); a new one is a new entry there and a field of
`Config`.

>>> configs = plan_configs({"batch_size": [32, 512]}, learning_rate=0.05, scale_lr="linear")
>>> [(c.name, c.learning_rate) for c in configs]
[('bs32', 0.05), ('bs512', 0.8)]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ...checks import check_choice, check_positive_int, check_positive_number, check_seed, is_int

__all__ = ["HYPERPARAMETERS", "OPTIMIZERS", "SCALE_LR", "Config", "plan_configs", "check_seeds",
           "check_batch_sizes", "parse_vary"]

# Keras optimizer names that take a learning rate and nothing else required.
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam",
              "lion", "ftrl")
#: How the learning rate follows the batch size: "linear" multiplies it by batch / reference
#: batch (Goyal et al., 2017); None keeps it as given.
SCALE_LR = ("linear",)


def check_batch_sizes(batch_sizes, *, at_least: int = 2, argument: str = "batch_sizes") -> tuple[int, ...]:
    """`batch_sizes` sorted, as a tuple of different positive integers.

    Args:
        batch_sizes: a list of batch sizes.
        at_least: how many sizes it needs: 2 to compare batch sizes, 1 for a schedule.
        argument: the argument's name in the messages.

    Returns:
        The sizes, smallest first.

    Raises:
        ValueError: not a list, fewer than `at_least` sizes, a size that is not a
            positive integer, or a size twice.
    """
    if isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Sequence):
        raise ValueError(
            f"{argument} must be a list of positive integers, e.g. [32, 128, 512]. "
            f"Received: {argument}={batch_sizes!r}.")
    bad = [size for size in batch_sizes if not is_int(size) or size < 1]
    if bad:
        raise ValueError(
            f"{argument} must be positive integers; {bad[0]!r} is not. "
            f"Received: {argument}={list(batch_sizes)!r}.")
    sizes = sorted(int(size) for size in batch_sizes)
    if len(sizes) < at_least:
        raise ValueError(f"{argument} needs at least {'two sizes to compare' if at_least == 2 else 'one size'}. "
                         f"Received: {argument}={sizes!r}.")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"{argument} must be different from each other. Received: {argument}={sizes!r}.")
    return tuple(sizes)


def _check_optimizer(value, argument: str) -> str:
    if not isinstance(value, str) or value.lower() not in OPTIMIZERS:
        check_choice(value, argument, OPTIMIZERS)
    return value.lower()


def _check_batch_size(value, argument: str) -> int:
    return check_positive_int(value, argument)


def _check_learning_rate(value, argument: str) -> float:
    return check_positive_number(value, argument)


def _parse_number(convert: Callable) -> Callable[[str], object]:
    def parse(text: str):
        try:
            return convert(text)
        except ValueError:
            raise ValueError(f"expected {'an integer' if convert is int else 'a number'}, received {text!r}") from None
    return parse


@dataclass(frozen=True)
class Hyperparameter:
    """One hyper-parameter a comparison can vary.

    Args:
        check: `check(value, argument)` -> the value, checked and converted.
        parse: the value from its text on the command line.
        text: a value as text ("32", "0.05", "adam").
        label_prefix: what comes before the text in frames' labels ("batch ").
        short_prefix: what comes before it in a run's folder name ("bs").
        plural: what a title calls several values ("batch sizes").
        ordered: whether values are sorted (numbers, smallest first) or kept as given.
    """

    check: Callable
    parse: Callable[[str], object]
    text: Callable[[object], str]
    label_prefix: str
    short_prefix: str
    plural: str
    ordered: bool

    def label(self, value) -> str:
        """How a frame names `value`: "batch 32".

        Args:
            value: a value of this hyper-parameter.
        """
        return self.label_prefix + self.text(value)

    def short(self, value) -> str:
        """How a run's folder names `value`: "bs32".

        Args:
            value: a value of this hyper-parameter.
        """
        return self.short_prefix + self.text(value)


#: The hyper-parameters `vary` may name, each with its checks, parsing and names.
HYPERPARAMETERS: dict[str, Hyperparameter] = {
    "batch_size": Hyperparameter(_check_batch_size, _parse_number(int), str, "batch ", "bs", "batch sizes",
                                 ordered=True),
    "learning_rate": Hyperparameter(_check_learning_rate, _parse_number(float), lambda v: f"{v:g}", "lr ", "lr",
                                    "learning rates", ordered=True),
    "optimizer": Hyperparameter(_check_optimizer, str.lower, str, "", "", "optimizers", ordered=False),
}


@dataclass(frozen=True)
class Config:
    """One configuration of a comparison: what its runs train with.

    Args:
        batch_size: examples per update.
        learning_rate: the optimizer's learning rate (already scaled, with `scale_lr`).
        optimizer: a Keras optimizer name, lower case.
        varied: the hyper-parameters that differ between configurations, in `vary`'s
            order: they make the name and the label.
        scaled: whether `learning_rate` was scaled with the batch size.
    """

    batch_size: int
    learning_rate: float
    optimizer: str
    varied: tuple[str, ...]
    scaled: bool = False

    def value(self, name: str):
        """The value of hyper-parameter `name`.

        Args:
            name: a key of `HYPERPARAMETERS`.
        """
        return getattr(self, name)

    @property
    def name(self) -> str:
        """The configuration's name and folder's, from what varies: "bs32", "lr0.05-adam"."""
        return "-".join(HYPERPARAMETERS[name].short(self.value(name)) for name in self.varied)

    @property
    def label(self) -> str:
        """How frames and figures name it: "batch 32", "batch 512 · lr 0.8" (scaled)."""
        parts = [HYPERPARAMETERS[name].label(self.value(name)) for name in self.varied]
        if self.scaled and "learning_rate" not in self.varied:
            parts.append(HYPERPARAMETERS["learning_rate"].label(self.learning_rate))
        return " · ".join(parts)

    def describe(self) -> dict:
        """The configuration as JSON: name, label and every hyper-parameter."""
        return {"name": self.name, "label": self.label, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, "optimizer": self.optimizer}


def _check_vary(vary) -> dict[str, tuple]:
    """`vary` with its names and values checked, numbers sorted."""
    if not isinstance(vary, Mapping) or not vary:
        raise ValueError("vary must map hyper-parameter names to lists of values, e.g. "
                         f"{{'learning_rate': [0.01, 0.05, 0.2]}}; names: {', '.join(HYPERPARAMETERS)}. "
                         f"Received: vary={vary!r}.")
    checked = {}
    for name, values in vary.items():
        check_choice(name, "vary", HYPERPARAMETERS)
        argument = f"vary[{name!r}]"
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"{argument} must be a non-empty list of values. Received: {argument}={values!r}.")
        hyper = HYPERPARAMETERS[name]
        found = [hyper.check(value, argument) for value in values]
        if len(set(found)) != len(found):
            raise ValueError(f"{argument} must be different from each other. Received: {argument}={list(values)!r}.")
        checked[name] = tuple(sorted(found) if hyper.ordered else found)
    return checked


def plan_configs(vary: Mapping[str, Sequence], *, batch_size: int = 32, learning_rate: float = 0.05,
                 optimizer: str = "sgd", scale_lr: str | None = None,
                 reference_batch: int | None = None) -> tuple[Config, ...]:
    """Every configuration of the grid that `vary` spans, the others fixed.

    Several names make a grid: every combination, the first name varying slowest.
    Numbers are sorted, smallest first; optimizers keep their order.

    >>> [c.name for c in plan_configs({"batch_size": [128, 32], "optimizer": ["sgd", "adam"]})]
    ['bs32-sgd', 'bs32-adam', 'bs128-sgd', 'bs128-adam']

    Args:
        vary: hyper-parameter name (see `HYPERPARAMETERS`) -> its values.
        batch_size: the batch size where it does not vary.
        learning_rate: the learning rate where it does not vary; with `scale_lr`, the
            rate at the reference batch.
        optimizer: the optimizer where it does not vary.
        scale_lr: None, or "linear": each learning rate times batch / `reference_batch`.
        reference_batch: the batch size the learning rates are given for; default the
            smallest batch size of the grid.

    Returns:
        The configurations, at least two.

    Raises:
        ValueError: a name or value is not valid, or the grid has one configuration.
    """
    vary = _check_vary(vary)
    fixed = {"batch_size": _check_batch_size(batch_size, "batch_size"),
             "learning_rate": _check_learning_rate(learning_rate, "learning_rate"),
             "optimizer": _check_optimizer(optimizer, "optimizer")}
    if scale_lr is not None:
        check_choice(scale_lr, "scale_lr", SCALE_LR)
    sizes = vary.get("batch_size", (fixed["batch_size"],))
    if reference_batch is None:
        reference_batch = min(sizes)
    elif scale_lr is None:
        raise ValueError(f"reference_batch applies to scale_lr='linear' only. Received: "
                         f"reference_batch={reference_batch!r} with scale_lr=None.")
    reference_batch = _check_batch_size(reference_batch, "reference_batch")
    names = tuple(vary)
    configs = []
    for values in itertools.product(*vary.values()):
        chosen = {**fixed, **dict(zip(names, values))}
        if scale_lr == "linear":
            chosen["learning_rate"] = chosen["learning_rate"] * chosen["batch_size"] / reference_batch
        configs.append(Config(**chosen, varied=names, scaled=scale_lr is not None))
    if len(configs) < 2:
        raise ValueError(f"vary must give at least two configurations to compare. Received: vary={dict(vary)!r}.")
    named = [config.name for config in configs]
    if len(set(named)) != len(named):
        twice = sorted({name for name in named if named.count(name) > 1})
        raise ValueError(f"vary gives values too close to tell apart in the runs' names ({', '.join(twice)}): "
                         f"each name is a run's folder. Received: vary={dict(vary)!r}.")
    return tuple(configs)


def check_seeds(seeds, *, seed: int = 0) -> tuple[int, ...]:
    """The seeds every configuration is repeated with.

    Args:
        seeds: None (one run per configuration, from `seed`), a count N (the N seeds
            `seed`, `seed` + 1, ...) or a list of different integers.
        seed: the first seed, with a count.

    Returns:
        The seeds, in order; the first one's runs are the ones the movie shows.

    Raises:
        ValueError: not a count, nor a list of different integers.
    """
    seed = check_seed(seed)
    if seeds is None:
        return (seed,)
    if is_int(seeds):
        count = check_positive_int(seeds, "seeds")
        check_seed(seed + count - 1, "seed + seeds - 1 (the last seed)")
        return tuple(range(seed, seed + count))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds \
            or not all(is_int(s) and 0 <= s < 2**32 for s in seeds):
        raise ValueError(f"seeds must be a count (3) or a non-empty list of integers in 0..2**32 - 1 "
                         f"([0, 5, 7]). Received: seeds={seeds!r}.")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be different from each other. Received: seeds={list(seeds)!r}.")
    return tuple(int(s) for s in seeds)


def parse_vary(text: str) -> tuple[str, tuple]:
    """One `--vary NAME=V1,V2,...` as (name, values), each value read as the name says.

    Args:
        text: the flag's text, e.g. "learning_rate=0.01,0.05,0.2".

    Returns:
        (name, values).

    Raises:
        ValueError: no "=", an unknown name, or a value that does not read.
    """
    name, equals, values = text.partition("=")
    name = name.strip().replace("-", "_")
    if not equals or name not in HYPERPARAMETERS:
        raise ValueError(f"expected NAME=V1,V2,... with NAME one of {', '.join(HYPERPARAMETERS)}, "
                         f"received {text!r}")
    parts = [part.strip() for part in values.split(",") if part.strip()]
    if not parts:
        raise ValueError(f"expected at least one value after '{name}=', received {text!r}")
    return name, tuple(HYPERPARAMETERS[name].parse(part) for part in parts)
