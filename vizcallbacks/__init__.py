"""vizcallbacks: turn Keras training into movies of layer activations.

>>> from vizcallbacks import PlotConvCallback, ConvPlotter, load_dataset, plot_conv, stitch

Names are imported on first use, so that `import vizcallbacks` (and the `stitch`
command) do not pay for importing Keras and TensorFlow.
"""

from importlib import import_module

__version__ = "0.3.0"

_EXPORTS = {
    "plot_conv": "plotter",
    "ConvPlotter": "plotter",
    "FrameStyle": "render",
    "PlotConvCallback": "callback",
    "load_dataset": "demos.datasets",
    "stitch": "movie",
    "Movie": "movie",
    "default_cnn": "demos.models",
    "train_movie": "apps.train",
    "compare_batch_sizes": "apps.compare",
    "write_page": "apps.page",
    "compare_runs": "apps.compare",
    "lr_find": "apps.lr_find",
    "Comparison": "apps.compare",
    "RangeTestSpec": "apps.lr_find",
    "Training": "apps.train",
    "render_run": "apps.render",
    "MovieSink": "sinks",
    "TensorBoardSink": "sinks",
    "NotebookSink": "sinks",
    "MLflowSink": "sinks",
    "WandbSink": "sinks",
    "open_run": "record.reader",
    "linear_cka": "analysis",
    "Dynamics": "analysis",
    "Recording": "analysis",
    "read_dynamics": "analysis",
    "analyze_run": "analysis.offline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vizcallbacks' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
