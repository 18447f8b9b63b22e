"""Draw a recorded run again, without training: `render_run` reads the activation store
(`vizcallbacks.record`), draws every frame with a `GridRenderer` and hands it to the same
sinks as training (PNG frames, the manifest, movies, TensorBoard, any the user lists), then
writes the page. It needs numpy, Pillow, matplotlib's colormaps and ffmpeg; no model, no
Keras, no backend.

"stable" colours follow the frames in order, as they did in training, so a redraw with the
run's own style gives training's frames again (within the store's precision).

>>> render_run("output/fashion_mnist", "output/viridis", style_changes={"cmap": "viridis"})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..capture.layers import LayerView
from ..capture.outputs import to_probabilities
from ..capture.probe import Activations
from ..checks import check_bool, check_fps, check_path, check_writable_dir
from ..framefiles import FRAMES_DIR, MANIFEST_NAME, FrameRecord
from ..pipeline import FramePipeline
from ..record import open_run
from ..render import GridRenderer, Stamp
from ..render.style import FrameStyle
from ..sinks import FramesFolder, ManifestSink, MovieSink, PngSink, Sink
from ..sinks.base import NamedRecord
from .train import check_formats

__all__ = ["render_run", "RenderResult", "recorded_style"]

@dataclass(frozen=True)
class RenderResult:
    """What a redraw wrote.

    Args:
        out_dir: the new run folder.
        frame_count: the frames drawn.
        movies: the movies written (`vizcallbacks.movie.Movie`).
        page_path: the page that plays the redrawn run.
        style: the style the frames were drawn with.
    """

    out_dir: Path
    frame_count: int
    movies: tuple
    page_path: Path | None
    style: FrameStyle


def recorded_style(run) -> FrameStyle:
    """The style a recorded run was drawn with (the default one when it kept none).

    Args:
        run: a `RecordedRun` (`open_run`'s).
    """
    return FrameStyle.from_dict(run.style) if run.style else FrameStyle()


def render_run(run_dir, out_dir, *, style_changes: Mapping | None = None, images: Sequence[int] | None = None,
               formats: Sequence[str] | str = ("gif", "mp4"), fps: float = 10, sinks: Sequence[Sink] = (),
               overwrite: bool = False, page: bool = True) -> RenderResult:
    """Draw every recorded frame of `run_dir` again into `out_dir`: frames, manifest,
    movies and the page, as training wrote them, with the style changed as asked.

    Args:
        run_dir: a recorded run: a `train` output folder, a callback's `frames_dir`, or a
            compare run's folder (what `open_run` takes).
        out_dir: the new run folder; must not be `run_dir`.
        style_changes: fields of `FrameStyle` to change from the run's own (e.g.
            {"cmap": "viridis", "layers": ["conv1", "dense"]}); `layers` name recorded
            layers (or their positions among them), "all" for every recorded one.
        images: positions of the recorded inputs to show; default all of them.
        formats: movie formats, of "gif", "mp4", "webm"; () for none.
        fps: the movies' frames per second.
        sinks: more `Sink` instances, sent every frame after the frames, manifest and movies.
        overwrite: replace frames, manifest and movies already in `out_dir`.
        page: write `out_dir/index.html`, the page that plays the run.

    Returns:
        A `RenderResult`.

    Raises:
        FileNotFoundError: no store in `run_dir`.
        ValueError, TypeError: an argument that is not valid; the message says what is.
        FileExistsError: `out_dir` holds frames or movies and `overwrite` is False.
    """
    run = open_run(run_dir)
    out_dir = check_path(out_dir, "out_dir")
    if out_dir.resolve() == Path(run_dir).resolve():
        raise ValueError(f"out_dir must be another folder than the recorded run ({str(run_dir)!r}): "
                         "a redraw never replaces what it reads. Received: out_dir="
                         f"{str(out_dir)!r}.")
    style = recorded_style(run).replace(**dict(style_changes or {}))
    chosen = _chosen_images(run, images)
    drawing = _Redrawing(run, style, chosen)
    formats, fps = check_formats(formats), check_fps(fps)
    check_writable_dir(out_dir, "out_dir")
    folder = FramesFolder(out_dir / FRAMES_DIR, manifest_path=out_dir / MANIFEST_NAME,
                          overwrite=check_bool(overwrite, "overwrite"))
    folder.check()
    movie_sinks = _movie_sinks(out_dir, formats, fps, drawing.renderer.palette, overwrite=overwrite)
    folder.prepare()
    own = [PngSink(folder.frames_dir, digits=drawing.digits, overwrite=overwrite),
           ManifestSink(folder.manifest_path, frames_dir=folder.frames_dir, digits=drawing.digits)]
    # The page is a sink listed before the user's, so that a tracker finishing after it keeps
    # the page with the movies.
    from .page.sink import PageSink

    pages = [PageSink(out_dir)] if check_bool(page, "page") else []
    pipeline = FramePipeline(drawing, [*own, *movie_sinks, *pages, *sinks], background=False)
    try:
        for position in range(len(run)):
            pipeline.submit(position)
    finally:
        pipeline.close()
    return RenderResult(out_dir=out_dir, frame_count=len(run), page_path=pages[0].path if pages else None,
                        style=style, movies=tuple(sink.movie for sink in movie_sinks if sink.movie is not None))


class _Redrawing:
    """Draws recorded frame `position` as training drew it: what `FramePipeline` calls."""

    def __init__(self, run, style: FrameStyle, images: np.ndarray):
        self.run, self.images = run, images
        drawing = run.drawing
        self.digits = tuple(drawing.get("digits") or (2, 4))
        self.output_kind = drawing.get("output_kind") or "classes"
        self.shown = _shown_layers(run, style.layers, drawing.get("shown"))
        classes = drawing.get("layer_classes") or {}
        views = [LayerView(name, run.shapes[name], classes.get(name, "")) for name in self.shown]
        inputs = run.images[images] if run.images is not None else None
        if inputs is None:
            raise ValueError(f"run_dir: the store at '{run.path}' kept no input images, so its frames "
                             "cannot be drawn again.")
        labels = None if run.labels is None else run.labels[images]
        self.renderer = GridRenderer(views, inputs, labels=labels, style=style.replace(layers=None),
                                     output_kind=self.output_kind)

    def __call__(self, position: int) -> tuple[np.ndarray, FrameRecord]:
        frame = self.run.frame(position)
        outputs = tuple(frame.activations[name][self.images] for name in self.shown)
        output = None if frame.output is None else frame.output[self.images]
        probabilities = None
        if output is not None and self.output_kind != "regression":
            probabilities = to_probabilities(output)
        if "file_name" in frame.figures:  # a compare run's panel: named, unstamped
            fields = {key: value for key, value in frame.figures.items() if key != "file_name"}
            record = NamedRecord(frame.figures["file_name"], fields, step=frame.step)
            return self.renderer.render(Activations(outputs, probabilities, output=output), Stamp()), record
        record = FrameRecord.from_fields(frame.figures)
        stamp = Stamp.of(record.epoch, record.batch, record.figures)
        return self.renderer.render(Activations(outputs, probabilities, output=output), stamp), record


def _chosen_images(run, images) -> np.ndarray:
    count = 0 if run.images is None else len(run.images)
    if images is None:
        return np.arange(count)
    chosen = np.asarray(images)
    if chosen.ndim != 1 or chosen.size == 0 or not np.issubdtype(chosen.dtype, np.integer) \
            or chosen.min() < 0 or chosen.max() >= count:
        raise ValueError(f"images must be positions of the recorded inputs, 0..{count - 1}. "
                         f"Received: images={images!r}.")
    return chosen


def _shown_layers(run, layers, shown) -> list[str]:
    """The recorded layers to draw: `layers` (names or positions among the recorded ones,
    or "all"); default the columns training drew (all recorded ones when not kept)."""
    recorded = list(run.layers)
    if layers is None:
        return [name for name in shown if name in run.shapes] if shown else recorded
    if layers == "all":
        return recorded
    names = []
    for item in layers:
        if isinstance(item, str) and item in run.shapes:
            names.append(item)
        elif not isinstance(item, str) and 0 <= item < len(recorded):
            names.append(recorded[item])
        else:
            raise ValueError(f"layers: {item!r} is not a recorded layer. Recorded: {', '.join(recorded)} "
                             f"(or their positions 0..{len(recorded) - 1}).")
    return names


def _movie_sinks(out_dir: Path, formats: tuple, fps: float, palette, *, overwrite: bool) -> list[MovieSink]:
    from ..movie import writer_for

    sinks = []
    for extension in formats:
        path = out_dir / f"movie.{extension}"
        if path.exists() and not overwrite:
            raise FileExistsError(f"out_dir: {str(path)!r} already exists. It is kept: pass overwrite=True "
                                  "(--overwrite) to replace it, or choose another out_dir.")
        writer = writer_for(path, fps=fps, overwrite=True)
        if getattr(writer, "palette", False) is None:
            writer.palette = palette  # frames drawn from the renderer's palette: an exact GIF
        sinks.append(MovieSink(writer))
    return sinks
