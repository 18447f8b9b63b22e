"""Data made on the spot for the sequence demos: the notes' time series, and a small
sentiment task in words.

- `notes_series`: the notes' synthetic series, four years of daily values: a baseline, a
  linear trend, a yearly season (a cosine that falls, then a slow decay) and Gaussian
  noise, as the course the notes follow builds it.
- `series_windows`: windows cut from a series as the notes cut them (`window(size + 1,
  shift=1)`, then each window split into its first `size` values and the last), in numpy.
- `series_data`: the series split by time (train before `split_time`, validation after),
  each part cut into windows.
- `token_task`: short sentences about a film in a vocabulary of 43 words, positive or
  negative, where a negation ("not") turns the sentiment word around: a model must read
  words in order, which is what a Conv1D over embeddings can learn. No real text corpus
  can be had offline, so the text demo uses this one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import check_positive_int

__all__ = ["notes_series", "series_windows", "series_data", "SeriesData", "token_task", "TokenTask",
           "SERIES_WINDOW", "SERIES_SPLIT_TIME", "TOKEN_LENGTH"]

#: The notes' window: 20 values predict the 21st.
SERIES_WINDOW = 20
#: Where the notes split the series: the first 1,000 days train, the rest validate.
SERIES_SPLIT_TIME = 1000
#: Tokens per sentence, padded in front with id 0 as `pad_sequences` pads.
TOKEN_LENGTH = 12


def notes_series(*, days: int = 4 * 365 + 1, baseline: float = 10, slope: float = 0.05,
                 period: int = 365, amplitude: float = 40, noise_level: float = 5,
                 seed: int = 42) -> np.ndarray:
    """The notes' synthetic series: baseline + trend + seasonality + noise, one value a day.

    >>> series = notes_series()
    >>> series.shape, series.dtype
    ((1461,), dtype('float32'))

    Args:
        days: how many values.
        baseline: the level at day 0.
        slope: the trend, per day.
        period: the season's length in days.
        amplitude: the season's height.
        noise_level: the noise's standard deviation.
        seed: for the noise.

    Returns:
        A float32 array of `days` values.
    """
    time = np.arange(check_positive_int(days, "days"), dtype=np.float32)
    season_time = (time % period) / period
    season = np.where(season_time < 0.4, np.cos(season_time * 2 * np.pi), 1 / np.exp(3 * season_time))
    noise = np.random.RandomState(seed).randn(len(time)) * noise_level
    return (baseline + slope * time + amplitude * season + noise).astype(np.float32)


def series_windows(series: np.ndarray, window_size: int = SERIES_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """Every window of `window_size` values and the value after it, shifted one day at a
    time: the notes' `dataset.window(window_size + 1, shift=1)` then `(w[:-1], w[-1])`.

    Args:
        series: one value a day.
        window_size: values per window.

    Returns:
        (windows, targets): float32 arrays (N, window_size, 1) and (N,), in time order.
    """
    window_size = check_positive_int(window_size, "window_size")
    series = np.asarray(series, dtype=np.float32)
    if len(series) <= window_size:
        raise ValueError(f"series has {len(series)} values, too few for one window of {window_size} "
                         "and its target.")
    windows = np.lib.stride_tricks.sliding_window_view(series, window_size + 1)
    return np.ascontiguousarray(windows[:, :window_size, None]), windows[:, window_size].copy()


@dataclass(frozen=True)
class SeriesData:
    """The series cut into windows, split by time.

    Args:
        x_train: training windows (N, window, 1), from before `split_time`.
        y_train: the value after each.
        x_valid: validation windows, from `split_time` on.
        y_valid: the value after each.
        series: the whole series.
        split_time: the first day of validation.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    series: np.ndarray
    split_time: int


def series_data(*, window_size: int = SERIES_WINDOW, split_time: int = SERIES_SPLIT_TIME,
                seed: int = 42) -> SeriesData:
    """The notes' series, split by time and cut into windows: no window of the validation
    part holds a day of the training part, as the notes split ("according to the
    periodicity of the data", not at random).

    >>> data = series_data()
    >>> data.x_train.shape, data.x_valid.shape
    ((980, 20, 1), (441, 20, 1))

    Args:
        window_size: values per window.
        split_time: the first day of validation.
        seed: for the series' noise.

    Returns:
        A `SeriesData`.
    """
    series = notes_series(seed=seed)
    x_train, y_train = series_windows(series[:split_time], window_size)
    x_valid, y_valid = series_windows(series[split_time:], window_size)
    return SeriesData(x_train, y_train, x_valid, y_valid, series, split_time)


# The token task's words. Id 0 pads and id 1 stands for unknown words, as in
# TextVectorization's vocabulary.
_OPENERS = ("honestly", "overall", "i think", "to me", "in short", "well")
_THINGS = ("the film", "the movie", "the plot", "the story", "the cast", "the music", "the ending",
           "the script", "this one", "it")
_VERBS = ("was", "is", "felt", "seemed")
_INTENSIFIERS = ("very", "really", "quite")
_POSITIVE = ("good", "great", "fun", "clever", "moving", "wonderful")
_NEGATIVE = ("bad", "boring", "dull", "awful", "silly", "weak")
_NEGATION = "not"


def _token_vocabulary() -> tuple[str, ...]:
    words = ["", "[UNK]"]
    for phrase in (*_OPENERS, *_THINGS, *_VERBS, *_INTENSIFIERS, *_POSITIVE, *_NEGATIVE, _NEGATION):
        words += [word for word in phrase.split() if word not in words]
    return tuple(words)


@dataclass(frozen=True)
class TokenTask:
    """Sentences as token ids with their sentiment.

    Args:
        x_train: training sentences, int32 (N, length), padded in front with 0.
        y_train: 1 for positive, 0 for negative.
        x_test: test sentences.
        y_test: their sentiment.
        vocabulary: the words; a token id is an index into it.
        class_names: ("negative", "positive").
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    vocabulary: tuple[str, ...]
    class_names: tuple[str, ...] = ("negative", "positive")


def token_task(*, train: int = 2000, test: int = 500, length: int = TOKEN_LENGTH, seed: int = 0) -> TokenTask:
    """Short sentences such as "honestly the plot was not very boring": an opener (or
    none), a subject, a verb, maybe "not", maybe an intensifier, a sentiment word. The
    label is the word's sentiment, turned around by "not".

    >>> task = token_task(seed=0)
    >>> " ".join(task.vocabulary[i] for i in task.x_train[0] if i), task.y_train[0]

    Args:
        train: training sentences.
        test: test sentences.
        length: tokens per sentence (the longest has 8; longer ones keep their end).
        seed: for the sentences.

    Returns:
        A `TokenTask`.
    """
    for name, value in (("train", train), ("test", test), ("length", length)):
        check_positive_int(value, name)
    vocabulary = _token_vocabulary()
    ids = {word: index for index, word in enumerate(vocabulary)}
    rng = np.random.default_rng(seed)
    count = train + test
    sentences = np.zeros((count, length), dtype=np.int32)
    labels = rng.integers(0, 2, count)
    for row in range(count):
        negated = bool(rng.integers(0, 2))
        positive_word = bool(labels[row]) != negated
        words = []
        if rng.random() < 0.6:
            words += rng.choice(_OPENERS).split()
        words += rng.choice(_THINGS).split() + [str(rng.choice(_VERBS))]
        words += [_NEGATION] if negated else []
        words += [str(rng.choice(_INTENSIFIERS))] if rng.random() < 0.4 else []
        words.append(str(rng.choice(_POSITIVE if positive_word else _NEGATIVE)))
        tokens = [ids[word] for word in words][-length:]
        sentences[row, length - len(tokens):] = tokens
    return TokenTask(sentences[:train], labels[:train].astype(np.int32), sentences[train:],
                     labels[train:].astype(np.int32), vocabulary)
