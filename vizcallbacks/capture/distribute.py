"""Which process of a distributed `fit` draws: one, the chief; every other one does nothing.

Asked once per fit (in `on_train_begin`, when the distribution is set up under every
backend). Each answer is read from local state: nothing here starts a collective, so a
worker never waits on it.
"""

from __future__ import annotations

import os

__all__ = ["is_chief"]


def is_chief(model=None) -> bool:
    """True in exactly one process of a distributed fit, and always True in a single process.

    - TensorFlow: `strategy.extended.should_checkpoint` of the model's strategy, TensorFlow's
      own rule for which process writes: every process of the default strategy,
      `MirroredStrategy` and `OneDeviceStrategy`; under `MultiWorkerMirroredStrategy` the
      task "chief", or "worker" 0 when the cluster has no chief.
    - JAX: `jax.process_index() == 0`: the one process of a `keras.distribution` over its
      local devices, or process 0 after `keras.distribution.initialize(...)`.
    - PyTorch: rank 0 of the default process group when `torch.distributed` is initialised,
      else the `RANK` a launcher (torchrun) set, else True.

    Args:
        model: the model being fitted (its TensorFlow strategy is read); None for the
            current strategy.

    Returns:
        Whether this process should draw and write frames.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        strategy = getattr(model, "distribute_strategy", None) or tf.distribute.get_strategy()
        return bool(strategy.extended.should_checkpoint)
    if backend == "jax":
        import jax

        return jax.process_index() == 0
    if backend == "torch":
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank() == 0
        return int(os.environ.get("RANK", "0")) == 0
    return True
