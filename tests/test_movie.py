"""Tests for vizcallbacks.movie: every movie is read back (frames, durations, sizes, codecs)."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import tracemalloc
from pathlib import Path

import imageio_ffmpeg
import matplotlib
import numpy as np
import pytest
from PIL import Image, ImageSequence

from vizcallbacks.movie import display as movie_display
from vizcallbacks.movie import (
    WRITERS,
    GifWriter,
    Movie,
    MovieWriter,
    Mp4Writer,
    WebmWriter,
    inspect_movie,
    stitch,
    writer_for,
    writing,
)

INFERNO = (matplotlib.colormaps["inferno"](np.linspace(0, 1, 256))[:, :3] * 255).round()
INFERNO = INFERNO.astype(np.uint8)
WHITE = np.array([255, 255, 255], np.uint8)
BLACK = np.array([0, 0, 0], np.uint8)
# Every colour make_frames uses: inferno[:254] for the band and square, plus white and black.
PALETTE = np.concatenate([INFERNO[:254], [WHITE, BLACK]])


def make_frames(count: int = 12, height: int = 60, width: int = 90) -> list[np.ndarray]:
    """White canvas, black corner, an inferno band and a square moving across, re-coloured."""
    frames = []
    for index in range(count):
        frame = np.full((height, width, 3), 255, np.uint8)
        frame[:4, :4] = BLACK
        frame[40:50, :] = INFERNO[np.arange(width) * 254 // width]
        top, left = 5 + 2 * index, 5 + 5 * index
        frame[top : top + 15, left : left + 15] = INFERNO[(20 * index) % 254]
        frames.append(frame)
    return frames


def read_gif(path: Path) -> tuple[list[np.ndarray], list[int], Image.Image]:
    """Decoded RGB frames, per-frame durations in ms, and the opened image (for info)."""
    image = Image.open(path)
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        durations.append(frame.info["duration"])
        frames.append(np.asarray(frame.convert("RGB")))
    return frames, durations, image


def probe(path: Path) -> dict:
    """Codec, pixel format, size and fps from the stream line `ffmpeg -i` prints."""
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
    )
    line = next(line for line in result.stderr.splitlines() if "Video:" in line)
    match = re.search(r"Video: (\w+).*?, (\w+)\(.*?, (\d+)x(\d+).*?, ([\d.]+) fps", line)
    assert match, line
    codec, pix_fmt, width, height, fps = match.groups()
    size = (int(width), int(height))
    return {"codec": codec, "pix_fmt": pix_fmt, "size": size, "fps": float(fps)}


def read_video(path: Path) -> list[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return [np.frombuffer(data, np.uint8).reshape(height, width, 3) for data in reader]


def save_pngs(folder: Path, frames: list[np.ndarray], names: list[str] | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    names = names or [f"frame_{index:04d}.png" for index in range(len(frames))]
    paths = []
    for name, frame in zip(names, frames):
        Image.fromarray(frame).save(folder / name)
        paths.append(folder / name)
    return paths


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


# ---------------------------------------------------------------------------------------------
# GIF


def test_gif_frames_durations_and_loop(tmp_path):
    frames = make_frames()
    movie = stitch(frames, tmp_path / "out.gif", fps=10, palette=PALETTE, last_frame_hold_ms=500)

    decoded, durations, image = read_gif(movie.path)
    assert len(decoded) == 12
    assert image.info["loop"] == 0
    # Every frame 100 ms; the last one 100 ms plus the 500 ms hold.
    assert durations == [100] * 11 + [600]
    assert all(np.array_equal(got, want) for got, want in zip(decoded, frames))
    assert movie == Movie(
        path=tmp_path / "out.gif", frame_count=12, fps=10.0, duration_s=1.7, size=(90, 60)
    )
    assert movie.format == "gif"


@pytest.mark.parametrize(
    "fps, delay_ms",
    [(10, 100), (30, 30), (25, 40), (7, 140), (60, 20), (100, 20), (0.5, 2000)],
)
def test_gif_delays_are_uniform_whole_centiseconds(tmp_path, fps, delay_ms):
    movie = stitch(make_frames(6), tmp_path / "out.gif", fps=fps, last_frame_hold_ms=0)

    _, durations, _ = read_gif(movie.path)
    assert durations == [delay_ms] * 6
    assert movie.fps == pytest.approx(1000 / delay_ms)
    assert movie.duration_s == pytest.approx(6 * delay_ms / 1000)


def test_gif_default_hold_is_one_second(tmp_path):
    _, durations, _ = read_gif(stitch(make_frames(3), tmp_path / "out.gif").path)
    assert durations == [100, 100, 1100]


def test_gif_exact_when_frames_use_all_256_palette_colours(tmp_path):
    # No palette index is left over for the encoder's transparency trick; colours stay exact.
    rng = np.random.default_rng(0)
    palette = rng.permutation(np.unique(rng.integers(0, 256, (400, 3), np.uint8), axis=0))[:256]
    blocks = np.arange(256).reshape(16, 16).repeat(4, axis=0).repeat(4, axis=1)
    frames = [palette[np.roll(blocks, shift, axis=1)] for shift in (0, 4, 5, 9)]

    decoded, _, _ = read_gif(stitch(frames, tmp_path / "out.gif", palette=palette).path)
    assert all(np.array_equal(got, want) for got, want in zip(decoded, frames))


def test_gif_without_palette_is_close(tmp_path):
    frames = make_frames()
    decoded, _, _ = read_gif(stitch(frames, tmp_path / "out.gif").path)

    assert len(decoded) == len(frames)
    # The palette comes from the first frame, so its own colours are exact.
    assert np.array_equal(decoded[0], frames[0])
    errors = [np.abs(got.astype(int) - want).mean() for got, want in zip(decoded, frames)]
    assert max(errors) < 2


def test_gif_palette_from_a_frame_with_many_colours(tmp_path):
    rng = np.random.default_rng(0)
    smooth = np.linspace(0, 255, 64 * 64 * 3).reshape(64, 64, 3)
    frames = [np.clip(smooth + rng.normal(0, 4, smooth.shape), 0, 255).astype(np.uint8)] * 3

    decoded, _, _ = read_gif(stitch(frames, tmp_path / "out.gif").path)
    assert len(decoded) == 3
    assert np.abs(decoded[0].astype(int) - frames[0]).mean() < 10


def test_gif_scale_keeps_pixels_sharp(tmp_path):
    frames = make_frames(4)
    movie = stitch(frames, tmp_path / "out.gif", scale=3, palette=PALETTE)

    decoded, _, _ = read_gif(movie.path)
    assert movie.size == (270, 180)
    for got, want in zip(decoded, frames):
        assert np.array_equal(got, np.repeat(np.repeat(want, 3, axis=0), 3, axis=1))


def test_gif_odd_size_is_not_padded(tmp_path):
    movie = stitch(make_frames(2, 61, 91), tmp_path / "out.gif")
    assert movie.size == (91, 61)
    assert Image.open(movie.path).size == (91, 61)


# ---------------------------------------------------------------------------------------------
# MP4 and WebM


def test_mp4_stream(tmp_path):
    frames = make_frames()
    movie = stitch(frames, tmp_path / "out.mp4", fps=10)

    info = probe(movie.path)
    assert info == {"codec": "h264", "pix_fmt": "yuv420p", "size": (90, 60), "fps": 10.0}
    assert imageio_ffmpeg.count_frames_and_secs(str(movie.path)) == (12, 1.2)
    assert movie == Movie(
        path=tmp_path / "out.mp4", frame_count=12, fps=10.0, duration_s=1.2, size=(90, 60)
    )
    decoded = read_video(movie.path)
    assert len(decoded) == 12
    # Lossy, but close: crf 18 and BT.709 both ways.
    assert np.abs(decoded[5].astype(int) - frames[5]).mean() < 3


def test_mp4_odd_size_is_padded_to_even_with_white(tmp_path):
    frames = make_frames(3, 61, 91)
    movie = stitch(frames, tmp_path / "out.mp4")

    assert movie.size == (92, 62)
    assert probe(movie.path)["size"] == (92, 62)
    decoded = read_video(movie.path)[0]
    assert decoded[-1, 10:80].min() > 240  # the padded bottom row is white
    assert np.abs(decoded[:61, :91].astype(int) - frames[0]).mean() < 3


def test_mp4_last_frame_hold_repeats_the_last_frame(tmp_path):
    movie = stitch(make_frames(), tmp_path / "out.mp4", fps=10, last_frame_hold_ms=300)

    assert movie.frame_count == 12
    assert movie.duration_s == pytest.approx(1.5)
    assert imageio_ffmpeg.count_frames_and_secs(str(movie.path)) == (15, 1.5)
    decoded = read_video(movie.path)
    assert np.abs(decoded[-1].astype(int) - decoded[11]).max() < 8


def test_mp4_hold_keeps_a_copy_of_a_reused_buffer(tmp_path):
    buffer = np.zeros((32, 32, 3), np.uint8)
    with Mp4Writer(tmp_path / "out.mp4", last_frame_hold_ms=200) as writer:
        writer.grab_frame(buffer)
        buffer[:] = 255  # a renderer drawing the next frame into the same array
    decoded = read_video(tmp_path / "out.mp4")
    assert len(decoded) == 3
    assert decoded[-1].max() < 10


def test_mp4_scale_doubles_size_with_sharp_edges(tmp_path):
    rng = np.random.default_rng(1)
    grey = rng.choice(np.array([0, 255], np.uint8), size=(30, 40))
    frame = np.repeat(grey[:, :, None], 3, axis=2)
    movie = stitch([frame] * 2, tmp_path / "out.mp4", scale=2)

    assert movie.size == (80, 60)
    decoded = read_video(movie.path)[0].astype(int)
    nearest = np.repeat(np.repeat(frame, 2, axis=0), 2, axis=1)
    # Blurring 1-pixel black/white noise would put errors near 64; nearest stays close.
    assert np.abs(decoded - nearest).mean() < 10


def test_webm_stream(tmp_path):
    movie = stitch(make_frames(5), tmp_path / "out.webm", fps=5)

    info = probe(movie.path)
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("vp9", "yuv420p", (90, 60))
    assert len(read_video(movie.path)) == 5
    assert movie.format == "webm"


# ---------------------------------------------------------------------------------------------
# The registry and the writer protocol


def test_registry_and_writer_for(tmp_path):
    assert set(WRITERS) == {".gif", ".mp4", ".webm"}
    assert isinstance(writer_for(tmp_path / "a.GIF"), GifWriter)
    assert isinstance(writer_for(tmp_path / "a.mp4", fps=24, crf=23), Mp4Writer)
    assert isinstance(writer_for(str(tmp_path / "a.webm")), WebmWriter)

    with pytest.raises(ValueError, match=r"out_path.*a\.avi.*'\.avi'") as error:
        writer_for(tmp_path / "a.avi")
    assert ".gif, .mp4, .webm" in str(error.value)
    with pytest.raises(ValueError, match="suffix 'none'"):
        writer_for(tmp_path / "movie")


@pytest.mark.parametrize("suffix", sorted(WRITERS))
def test_every_writer_takes_the_arguments_movie_writer_declares_once(tmp_path, suffix):
    """The five shared arguments are MovieWriter's; a format declares only its own (the GIF
    redeclares the hold, for its default of one second), all keyword-only but the path."""
    writer_class = WRITERS[suffix]
    shared = list(inspect.signature(MovieWriter).parameters)
    assert shared == ["out_path", "fps", "scale", "last_frame_hold_ms", "overwrite"]
    assert list(inspect.signature(writer_class).parameters)[:len(shared)] == shared
    redeclared = set(vars(writer_class).get("__annotations__", {})) & set(shared)
    assert redeclared == ({"last_frame_hold_ms"} if suffix == ".gif" else set())

    (tmp_path / f"kept{suffix}").write_bytes(b"old")
    writer = writer_class(tmp_path / f"kept{suffix}", fps=5, scale=2, last_frame_hold_ms=400, overwrite=True)
    writer.grab_frame(make_frames(1)[0])
    movie = writer.finish()
    assert (movie.frame_count, movie.size) == (1, (180, 120))
    # The hold: a GIF shows its one frame longer; a video repeats it (400 ms at 5 fps: twice).
    assert inspect_movie(movie.path).frame_count == (1 if suffix == ".gif" else 3)
    with pytest.raises(TypeError):
        writer_class(tmp_path / f"other{suffix}", 5)  # options are keyword-only
    assert writer_class(tmp_path / f"other{suffix}").last_frame_hold_ms == (1000 if suffix == ".gif" else 0)


def test_writer_refuses_a_wrong_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"out_path.*'\.gif'"):
        GifWriter(tmp_path / "a.mp4")


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_body_that_raises_still_finishes_the_movie(tmp_path, suffix):
    out_path = tmp_path / f"out{suffix}"
    with pytest.raises(KeyboardInterrupt):
        with writer_for(out_path) as writer:
            for index, frame in enumerate(make_frames()):
                if index == 3:
                    raise KeyboardInterrupt
                writer.grab_frame(frame)

    if suffix == ".gif":
        assert len(read_gif(out_path)[0]) == 3
    else:
        assert imageio_ffmpeg.count_frames_and_secs(str(out_path))[0] == 3
    assert writer.frame_count == 3
    assert leftovers(tmp_path) == []


def test_writing_helper_sets_up_and_finishes(tmp_path):
    frames = make_frames(4)
    with pytest.raises(RuntimeError, match="boom"):
        with writing(GifWriter(tmp_path / "out.gif", palette=PALETTE), frame_size=(60, 90)) as w:
            for frame in frames[:3]:
                w.grab_frame(frame)
            raise RuntimeError("boom")
    decoded, _, _ = read_gif(tmp_path / "out.gif")
    assert all(np.array_equal(got, want) for got, want in zip(decoded, frames[:3]))
    assert w.finish().frame_count == 3  # finish again: same movie, no error
    with pytest.raises(RuntimeError, match="already finished"):
        w.grab_frame(frames[3])


@pytest.mark.parametrize("set_up", [False, True])
def test_zero_frames_write_nothing(tmp_path, set_up):
    writer = Mp4Writer(tmp_path / "out.mp4")
    if set_up:
        writer.setup(frame_size=(60, 90))
    assert writer.finish() is None
    assert list(tmp_path.iterdir()) == []


def test_writer_checks_frames(tmp_path):
    writer = GifWriter(tmp_path / "out.gif")
    writer.setup(frame_size=(60, 90))
    with pytest.raises(TypeError, match="frame 0"):
        writer.grab_frame([[0, 0, 0]])
    with pytest.raises(ValueError, match="frame 0 must have dtype uint8.*float64"):
        writer.grab_frame(np.zeros((60, 90, 3)))
    with pytest.raises(ValueError, match=r"frame 0 must have shape.*\(60, 90, 4\)"):
        writer.grab_frame(np.zeros((60, 90, 4), np.uint8))
    writer.grab_frame(make_frames(1)[0])
    with pytest.raises(ValueError, match=r"frame 1 has \(height, width\)=\(61, 90\).*\(60, 90\)"):
        writer.grab_frame(np.zeros((61, 90, 3), np.uint8))
    with pytest.raises(RuntimeError, match="already set up"):
        writer.setup(frame_size=(60, 90))
    assert writer.finish().frame_count == 1


@pytest.mark.parametrize(
    "options, argument",
    [
        ({"fps": 0}, "fps"),
        ({"fps": -5}, "fps"),
        ({"fps": "10"}, "fps"),
        ({"fps": float("nan")}, "fps"),
        ({"fps": True}, "fps"),
        ({"scale": 0}, "scale"),
        ({"scale": 1.5}, "scale"),
        ({"scale": "2"}, "scale"),
        ({"last_frame_hold_ms": -1}, "last_frame_hold_ms"),
        ({"palette": np.zeros((300, 3), np.uint8)}, "palette"),
        ({"palette": np.zeros((4, 4), np.uint8)}, "palette"),
        ({"palette": np.full((4, 3), 300)}, "palette"),
        ({"last_frame_hold_ms": 700_000}, "last_frame_hold_ms"),
    ],
)
def test_bad_options_name_the_argument(tmp_path, options, argument):
    with pytest.raises(ValueError, match=rf"{argument}.*Received: {argument}"):
        stitch(make_frames(2), tmp_path / "out.gif", **options)
    assert list(tmp_path.iterdir()) == []


def test_mp4_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match="crf.*Received: crf=99"):
        Mp4Writer(tmp_path / "out.mp4", crf=99)
    with pytest.raises(ValueError, match="preset.*Received: preset='fastest'"):
        Mp4Writer(tmp_path / "out.mp4", preset="fastest")
    with pytest.raises(ValueError, match="palette applies to GIF"):
        stitch(make_frames(2), tmp_path / "out.mp4", palette=PALETTE)


def test_out_path_folder_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        stitch(make_frames(2), tmp_path / "missing" / "out.gif")


def test_ffmpeg_failure_reports_its_stderr(tmp_path):
    class BrokenWriter(Mp4Writer):
        def _output_args(self, first_frame):
            return ["-c:v", "no_such_encoder", "-f", "mp4"]

    with pytest.raises(RuntimeError, match="no_such_encoder"):
        with BrokenWriter(tmp_path / "out.mp4") as writer:
            for frame in make_frames(3):
                writer.grab_frame(frame)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# stitch: sources


def test_stitch_a_folder_of_pngs(tmp_path):
    frames = make_frames()
    save_pngs(tmp_path / "frames", frames)
    movie = stitch(tmp_path / "frames", tmp_path / "out.gif", palette=PALETTE, fps=5)

    decoded, durations, _ = read_gif(movie.path)
    assert all(np.array_equal(got, want) for got, want in zip(decoded, frames))
    assert durations == [200] * 11 + [1200]
    assert (movie.frame_count, movie.size, movie.duration_s) == (12, (90, 60), 3.4)


def test_stitch_sorts_unpadded_numbers_naturally(tmp_path):
    frames = make_frames(11)
    save_pngs(tmp_path / "frames", frames, [f"step_{index}.png" for index in range(11)])
    decoded, _, _ = read_gif(stitch(tmp_path / "frames", tmp_path / "o.gif", palette=PALETTE).path)
    assert all(np.array_equal(got, want) for got, want in zip(decoded, frames))


def test_stitch_converts_rgba_and_grey_pngs(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(np.zeros((20, 30, 4), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(folder / "b.png")
    assert stitch(folder, tmp_path / "out.mp4").frame_count == 2


def _write_manifest(path: Path, files: list[str]) -> None:
    lines = [json.dumps({"file": name, "step": step}) + "\n" for step, name in enumerate(files)]
    path.write_text("".join(lines))


def test_stitch_a_manifest_uses_its_order(tmp_path):
    frames = make_frames(6)
    # File names sort the other way round from the order the manifest gives.
    names = [f"frame_{5 - index}.png" for index in range(6)]
    save_pngs(tmp_path / "frames", frames, names)
    _write_manifest(tmp_path / "frames.jsonl", [f"frames/{name}" for name in names])

    for source in (tmp_path / "frames.jsonl", tmp_path / "frames"):
        out_path = tmp_path / f"out_{source.suffix or 'dir'}.gif"
        decoded, _, _ = read_gif(stitch(source, out_path, palette=PALETTE).path)
        assert all(np.array_equal(got, want) for got, want in zip(decoded, frames)), source


def test_stitch_a_folder_holding_its_manifest(tmp_path):
    frames = make_frames(4)
    names = ["d.png", "c.png", "b.png", "a.png"]
    save_pngs(tmp_path / "frames", frames, names)
    _write_manifest(tmp_path / "frames" / "frames.jsonl", names[:3])  # a frame left out

    with pytest.warns(UserWarning, match=r"1 PNG file\(s\) beside the frames have no line in manifest .*a\.png"):
        movie = stitch(str(tmp_path / "frames"), tmp_path / "out.gif", palette=PALETTE)
    decoded, _, _ = read_gif(movie.path)
    assert movie.frame_count == 3
    assert all(np.array_equal(got, want) for got, want in zip(decoded, frames))


def test_stitch_a_generator(tmp_path):
    movie = stitch((frame for frame in make_frames(7)), tmp_path / "out.mp4", fps=7)
    assert (movie.frame_count, movie.duration_s, movie.size) == (7, 1.0, (90, 60))
    assert imageio_ffmpeg.count_frames_and_secs(str(movie.path))[0] == 7


def test_stitch_a_4d_array(tmp_path):
    movie = stitch(np.stack(make_frames(3)), tmp_path / "out.gif")
    assert movie.frame_count == 3


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    stitch(make_frames(3), tmp_path / "out.gif", progress=True)
    captured = capsys.readouterr()
    assert "3/3" in captured.err and "frame/s" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("suffix", [".gif", ".mp4", ".webm"])
def test_inspect_movie_agrees_with_the_writer(tmp_path, suffix):
    written = stitch(make_frames(5, 61, 91), tmp_path / f"out{suffix}", fps=5)
    read = inspect_movie(written.path)
    assert (read.frame_count, read.size) == (written.frame_count, written.size)
    assert read.fps == pytest.approx(written.fps)
    assert read.duration_s == pytest.approx(written.duration_s)

    with pytest.raises(FileNotFoundError, match="missing.gif"):
        inspect_movie(tmp_path / "missing.gif")


def test_repr_html(tmp_path, monkeypatch):
    gif = stitch(make_frames(2), tmp_path / "out.gif")
    mp4 = stitch(make_frames(2), tmp_path / "out.mp4")
    assert gif._repr_html_().startswith('<img src="data:image/gif;base64,')
    assert 'width="90" height="60"' in gif._repr_html_()
    html = mp4._repr_html_()
    assert html.startswith('<video src="data:video/mp4;base64,')
    assert all(word in html for word in ("controls", "loop", "autoplay", "muted"))

    monkeypatch.setattr(movie_display, "MAX_INLINE_BYTES", 100)
    monkeypatch.chdir(tmp_path)
    assert mp4._repr_html_().startswith('<video src="out.mp4"')


# ---------------------------------------------------------------------------------------------
# stitch: errors


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"frames.*nowhere"):
        stitch(tmp_path / "nowhere", tmp_path / "out.gif")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no frames here")
    with pytest.raises(FileNotFoundError, match=r"no \*\.png files found in folder .*empty"):
        stitch(tmp_path / "empty", tmp_path / "out.gif")


def test_frames_of_different_sizes_name_the_file(tmp_path):
    frames = make_frames(4)
    frames[2] = np.zeros((50, 90, 3), np.uint8)
    save_pngs(tmp_path / "frames", frames)
    differing = r"frame_0002\.png.*\(50, 90\).*frame_0000\.png.*\(60, 90\)"
    with pytest.raises(ValueError, match=differing):
        stitch(tmp_path / "frames", tmp_path / "out.gif")
    assert leftovers(tmp_path) == []

    with pytest.raises(ValueError, match=r"frames\[2\].*\(50, 90\).*frames\[0\].*\(60, 90\)"):
        stitch(iter(frames), tmp_path / "out.gif")
    assert not (tmp_path / "out.gif").exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_png_is_named_and_existing_movie_untouched(tmp_path, damage):
    paths = save_pngs(tmp_path / "frames", make_frames(12))
    bad = paths[7]
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a png at all")
    out_path = tmp_path / "out.mp4"
    out_path.write_bytes(b"an earlier movie")

    with pytest.raises(ValueError, match=r"frame_0007\.png"):
        stitch(tmp_path / "frames", out_path, overwrite=True)
    assert out_path.read_bytes() == b"an earlier movie"
    assert leftovers(tmp_path) == []


def test_manifest_errors_name_file_and_line(tmp_path):
    save_pngs(tmp_path / "frames", make_frames(2))
    manifest = tmp_path / "frames.jsonl"
    manifest.write_text('{"file": "frames/frame_0000.png"}\n{"file": "frames/frame_0001.png"\n')
    with pytest.raises(ValueError, match=r"frames\.jsonl' line 2 is not valid JSON"):
        stitch(manifest, tmp_path / "out.gif")

    manifest.write_text('{"file": "frames/frame_0000.png"}\n\n{"path": "x.png"}\n')
    with pytest.raises(ValueError, match=r"line 3 needs a \"file\""):
        stitch(manifest, tmp_path / "out.gif")

    manifest.write_text('{"file": "frames/frame_0000.png"}\n{"file": "frames/gone.png"}\n')
    with pytest.raises(FileNotFoundError, match=r"gone\.png.*line 2"):
        stitch(manifest, tmp_path / "out.gif")

    manifest.write_text("\n")
    with pytest.raises(ValueError, match="lists no frames"):
        stitch(manifest, tmp_path / "out.gif")
    assert not (tmp_path / "out.gif").exists()


def test_frames_that_are_neither_folder_manifest_nor_iterable(tmp_path):
    png = save_pngs(tmp_path, make_frames(1))[0]
    with pytest.raises(ValueError, match="frames must be a folder"):
        stitch(png, tmp_path / "out.gif")
    with pytest.raises(TypeError, match="frames must be.*Received: int"):
        stitch(3, tmp_path / "out.gif")
    with pytest.raises(ValueError, match="frames is empty.*list_iterator"):
        stitch(iter([]), tmp_path / "out.gif")
    assert not (tmp_path / "out.gif").exists()


def test_generator_that_raises_leaves_nothing(tmp_path):
    def frames():
        yield from make_frames(3)
        raise OSError("camera unplugged")

    with pytest.raises(OSError, match="camera unplugged"):
        stitch(frames(), tmp_path / "out.gif")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Overwriting and memory


def test_existing_movie_is_kept_unless_overwrite(tmp_path):
    out_path = tmp_path / "out.gif"
    out_path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match=r"out\.gif.*overwrite=True.*--overwrite"):
        stitch(make_frames(2), out_path)
    assert out_path.read_bytes() == b"precious"

    movie = stitch(make_frames(2), out_path, overwrite=True)
    assert len(read_gif(movie.path)[0]) == 2
    assert leftovers(tmp_path) == []


def test_memory_does_not_grow_with_frame_count(tmp_path):
    def frames(count):
        for index in range(count):
            frame = np.full((200, 200, 3), 255, np.uint8)
            frame[index % 180 : index % 180 + 20, 50:70] = INFERNO[index % 254]
            yield frame

    def peak_bytes(count):
        tracemalloc.start()
        try:
            stitch(frames(count), tmp_path / f"out{count}.gif", palette=PALETTE)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    frame_bytes = 200 * 200 * 3
    few, many = peak_bytes(30), peak_bytes(300)
    # Keeping the frames would need 300 frames (36 MB); streaming needs a handful at most.
    assert many < few + 10 * frame_bytes
    assert many < 20 * frame_bytes
