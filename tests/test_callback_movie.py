"""The callback streams frames into movies as it makes them, and finishes them on
every way out of fit."""

import gc

import numpy as np
import pytest
from PIL import Image, ImageSequence

from vizcallbacks import PlotConvCallback
from vizcallbacks.movie import inspect_movie


def _fit(model, data, callback, *extra):
    images, labels = data
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0, callbacks=[callback, *extra], shuffle=False)


def _gif_frames(path):
    with Image.open(path) as gif:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]


def test_movies_hold_exactly_the_frames_written(tiny_cnn, tiny_data, tmp_path):
    callback = PlotConvCallback(tiny_data[0][:3], labels=tiny_data[1][:3], frames_dir=tmp_path / "frames",
                                every_n_batches=3, movie_path=[tmp_path / "m.gif", tmp_path / "m.mp4"], fps=5)
    _fit(tiny_cnn, tiny_data, callback)
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert len(pngs) == 4  # batches 0, 3, 6, 9
    for png, gif_frame in zip(pngs, _gif_frames(tmp_path / "m.gif"), strict=True):
        assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), gif_frame)
    mp4 = inspect_movie(tmp_path / "m.mp4")
    assert mp4.frame_count == 4 and mp4.fps == pytest.approx(5)
    assert {m.path.name for m in callback.movies} == {"m.gif", "m.mp4"}


def test_keep_frames_false_writes_only_the_movie(tiny_cnn, tiny_data, tmp_path):
    callback = PlotConvCallback(tiny_data[0][:2], frames_dir=tmp_path / "frames", every_n_batches=5,
                                movie_path=tmp_path / "m.gif", keep_frames=False)
    _fit(tiny_cnn, tiny_data, callback)
    assert not list(tmp_path.glob("frames/*.png"))
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
