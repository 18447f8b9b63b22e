"""How a run's process sets up its Keras backend: which backend, how many threads, and
deterministic ops, each backend in its own entry of `BACKENDS`.

Every run starts in a fresh process (a spawned one locally, a subprocess on a Dask
worker), so everything is set before Keras and the backend are imported: environment
variables first (`run_environment`), then the backend's own calls (`prepare_process`).

What holds, per backend, on CPU (each entry's `determinism` says it in words):

- TensorFlow: `intra_op`/`inter_op` threads set to `threads_per_run` and
  `tf.config.experimental.enable_op_determinism()`: the same figures whatever `jobs` is.
- JAX: with one thread per run, XLA's CPU backend runs Eigen single-threaded
  (``--xla_cpu_multi_thread_eigen=false``); XLA has no flag for another count, so with
  more, its thread pool takes its size from the machine's CPUs: runs are identical
  whatever `jobs` is on one machine, and may differ on a machine with another CPU count.
- PyTorch: `torch.set_num_threads`, `torch.set_num_interop_threads` and
  `torch.use_deterministic_algorithms(True)`: the same figures whatever `jobs` is.

On every backend, machines with other CPU instruction sets (AVX-512 or not) round floats
differently, and `align="time"` depends on measured time, which no backend can repeat.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BACKENDS", "BackendSetup", "configured_backend", "run_environment", "prepare_process"]


def _tensorflow_environment(threads: int) -> dict[str, str]:
    return {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}


def _configure_tensorflow(threads: int) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    tf.config.experimental.enable_op_determinism()


def _tensorflow_settings() -> dict:
    import tensorflow as tf
    from tensorflow.python.framework import config  # the reading of op determinism is not public

    enabled = getattr(config, "is_op_determinism_enabled", None)
    return {"intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "op_determinism": None if enabled is None else bool(enabled())}


# XLA_FLAGS for a run: single-threaded Eigen for one thread (XLA has no flag for another
# count), and deterministic ops where a GPU runs it.
_JAX_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false"
_JAX_DETERMINISTIC = "--xla_gpu_deterministic_ops=true"


def _jax_environment(threads: int) -> dict[str, str]:
    flags = os.environ.get("XLA_FLAGS", "").split()
    ours = [_JAX_DETERMINISTIC] + ([_JAX_ONE_THREAD] if threads == 1 else [])
    return {"XLA_FLAGS": " ".join(flags + [flag for flag in ours if flag not in flags]),
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}


def _configure_jax(threads: int) -> None:
    """Nothing to call: XLA reads its flags when it starts, from the environment."""


def _jax_settings() -> dict:
    return {"XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}


def _torch_environment(threads: int) -> dict[str, str]:
    # OpenMP sizes its pool when torch is imported; cuBLAS needs this workspace to be
    # deterministic on a GPU.
    return {"OMP_NUM_THREADS": str(threads), "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}


def _configure_torch(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set: only possible before any parallel work
        pass
    torch.use_deterministic_algorithms(True)


def _torch_settings() -> dict:
    import torch

    return {"threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled()}


@dataclass(frozen=True)
class BackendSetup:
    """How one backend is set up in a run's process.

    Args:
        environment: threads -> environment variables to set before Keras is imported.
        configure: threads -> None: the backend's own calls, after Keras is imported and
            before the model is made.
        settings: () -> what the backend says it runs with, read back (for run.json).
        determinism: what holds for this backend, in words (README, summary.json).
    """

    environment: Callable[[int], dict[str, str]]
    configure: Callable[[int], None]
    settings: Callable[[], dict]
    determinism: str


#: Each Keras backend's set-up for a run's process.
BACKENDS: dict[str, BackendSetup] = {
    "tensorflow": BackendSetup(
        _tensorflow_environment, _configure_tensorflow, _tensorflow_settings,
        "threads_per_run threads and deterministic ops: the same figures whatever jobs is"),
    "jax": BackendSetup(
        _jax_environment, _configure_jax, _jax_settings,
        "one thread per run: single-threaded Eigen, the same figures whatever jobs is; with more, "
        "XLA sizes its thread pool from the machine's CPUs (no flag sets it): the same figures "
        "whatever jobs is on one machine, maybe not on a machine with another CPU count"),
    "torch": BackendSetup(
        _torch_environment, _configure_torch, _torch_settings,
        "threads_per_run threads and deterministic algorithms: the same figures whatever jobs is"),
}


def configured_backend() -> str:
    """The Keras backend this process uses, or would use once Keras is imported: read
    as Keras reads it (``KERAS_BACKEND``, else ``keras.json``), without importing it.

    Returns:
        A key of `BACKENDS`.

    Raises:
        ValueError: the backend is not one a comparison can run on.
    """
    if "keras" in sys.modules:
        backend = sys.modules["keras"].backend.backend()
    else:
        backend = os.environ.get("KERAS_BACKEND") or _backend_in_keras_json() or "tensorflow"
    if backend not in BACKENDS:
        raise ValueError(f"compare runs on the Keras backends {', '.join(BACKENDS)}; this process "
                         f"uses {backend!r} (KERAS_BACKEND or keras.json).")
    return backend


def _backend_in_keras_json() -> str | None:
    home = Path(os.environ.get("KERAS_HOME") or Path("~/.keras").expanduser())
    try:
        return json.loads((home / "keras.json").read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        return None


def run_environment(backend: str, threads: int) -> dict[str, str]:
    """The environment variables a run's process needs before Keras is imported.

    Args:
        backend: a key of `BACKENDS`.
        threads: the run's threads.

    Returns:
        Variable -> value, ``KERAS_BACKEND`` included.
    """
    return {"KERAS_BACKEND": backend, **BACKENDS[backend].environment(threads)}


def prepare_process(backend: str, threads: int) -> dict:
    """Set up this (fresh) process for a run: the environment, then Keras and its backend.

    Args:
        backend: a key of `BACKENDS`.
        threads: the run's threads; the figures depend on it.

    Returns:
        What the backend says it runs with, read back (see `BackendSetup.settings`).

    Raises:
        RuntimeError: Keras was imported before with another backend (by the main
            module a spawned process imports again, for example).
    """
    os.environ.update(run_environment(backend, threads))
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"This run's process uses the Keras backend {keras.backend.backend()!r}, the comparison "
            f"{backend!r}: Keras was imported before the run began (by the main module, which a "
            "spawned process imports again?). Import Keras inside functions, or under "
            "`if __name__ == '__main__':`.")
    BACKENDS[backend].configure(threads)
    return BACKENDS[backend].settings()
