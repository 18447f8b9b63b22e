"""Old import path of the probe's names, kept while other modules still import it: the probe
is now split by job into `layers.py`, `outputs.py`, `passes.py` and `probe.py`."""

from .layers import KINDS, MAX_DEFAULT_COLUMNS, LayerView, check_layer_choice, kind_of
from .outputs import OUTPUT_KINDS, output_kind
from .probe import ActivationProbe, Activations, PendingActivations, check_model

__all__ = ["LayerView", "Activations", "PendingActivations", "ActivationProbe", "check_model",
           "check_layer_choice", "output_kind", "kind_of", "KINDS", "OUTPUT_KINDS", "MAX_DEFAULT_COLUMNS"]
