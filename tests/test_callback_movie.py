"""The callback streams frames into movies as it makes them, and finishes them on
every way out of fit."""

import gc

import numpy as np
import pytest
from PIL import Image, ImageSequence

from vizcallbacks import PlotConvCallback
from vizcallbacks.movie import inspect_movie
from vizcallbacks.sinks import MovieSink


def _fit(model, data, callback, *extra):
    images, labels = data
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0, callbacks=[callback, *extra], shuffle=False)


def _gif_frames(path):
    with Image.open(path) as gif:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


def test_movies_hold_exactly_the_frames_written(tiny_cnn, tiny_data, tmp_path):
    # One movie by its path (10 frames a second), one listed as a sink with its own rate.
    callback = PlotConvCallback(tiny_data[0][:3], labels=tiny_data[1][:3], frames_dir=tmp_path / "frames",
                                every_n_batches=3, movie_path=tmp_path / "m.gif",
                                sinks=[MovieSink(tmp_path / "m.mp4", fps=5)])
    _fit(tiny_cnn, tiny_data, callback)
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert len(pngs) == 4  # batches 0, 3, 6, 9
    for png, gif_frame in zip(pngs, _gif_frames(tmp_path / "m.gif"), strict=True):
        assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), gif_frame)
    mp4 = inspect_movie(tmp_path / "m.mp4")
    assert mp4.frame_count == 4 and mp4.fps == pytest.approx(5)
    assert {m.path.name: m.fps for m in callback.movies} == {"m.gif": pytest.approx(10), "m.mp4": pytest.approx(5)}


def test_a_movie_sink_is_checked_as_movie_path_is(tiny_data, tmp_path):
    with pytest.raises(ValueError, match=r"movie must end with one of .gif, .mp4, .webm.*m\.avi"):
        MovieSink(tmp_path / "m.avi")
    with pytest.raises(ValueError, match="fps must be"):
        MovieSink(tmp_path / "m.gif", fps=0)
    with pytest.raises(TypeError, match=r"MovieSink needs a movie path .* Received: movie=3"):
        MovieSink(3)
    (tmp_path / "m.gif").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", sinks=[MovieSink(tmp_path / "m.gif")])
    with pytest.raises(ValueError, match="the same movie twice"):
        PlotConvCallback(tiny_data[0][:2], movie_path=tmp_path / "a.mp4", sinks=[MovieSink(tmp_path / "a.mp4")])


def test_without_frames_dir_only_the_movie_is_written(tiny_cnn, tiny_data, tmp_path):
    callback = PlotConvCallback(tiny_data[0][:2], every_n_batches=5, movie_path=tmp_path / "m.gif")
    _fit(tiny_cnn, tiny_data, callback)
    assert [p.name for p in tmp_path.iterdir()] == ["m.gif"]
    assert len(_gif_frames(tmp_path / "m.gif")) == 3


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_movie_is_finished_when_fit_raises_inside_with(tiny_cnn, tiny_data, tmp_path, keras, error):
    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 5:
                raise error("stop here")

    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", every_n_batches=2,
                                movie_path=[tmp_path / "m.gif", tmp_path / "m.mp4"])
    with pytest.raises(error):
        with callback:
            _fit(tiny_cnn, tiny_data, callback, Stop())
    assert len(_gif_frames(tmp_path / "m.gif")) == 3  # batches 0, 2, 4
    assert inspect_movie(tmp_path / "m.mp4").frame_count == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files


def test_movie_is_finished_when_the_callback_is_dropped_after_an_error(tiny_cnn, tiny_data, tmp_path, keras):
    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 3:
                raise RuntimeError("boom")

    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", every_n_batches=2,
                                movie_path=tmp_path / "m.gif")
    with pytest.raises(RuntimeError):
        _fit(tiny_cnn, tiny_data, callback, Stop())
    del callback
    gc.collect()
    assert len(_gif_frames(tmp_path / "m.gif")) == 2


def test_early_stop_ends_the_movie_with_a_final_frame(tiny_cnn, tiny_data, tmp_path, keras):
    class StopAt4(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 4:
                self.model.stop_training = True

    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", every_n_batches=3,
                                movie_path=tmp_path / "m.mp4")
    _fit(tiny_cnn, tiny_data, callback, StopAt4())
    assert [p.name for p in sorted((tmp_path / "frames").glob("*.png"))] == [
        "plot-01-0000.png", "plot-01-0003.png", "plot-01-0004.png"]
    assert inspect_movie(tmp_path / "m.mp4").frame_count == 3


def test_an_existing_movie_is_refused_before_training(tiny_data, tmp_path):
    (tmp_path / "m.gif").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", movie_path=tmp_path / "m.gif")
    assert (tmp_path / "m.gif").read_bytes() == b"precious"


def test_unknown_movie_extension_is_refused(tiny_data, tmp_path):
    with pytest.raises(ValueError, match=r"\.gif.*\.mp4.*Received: out_path=.*m\.avi"):
        PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path, movie_path=tmp_path / "m.avi")
