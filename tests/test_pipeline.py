import threading
import time

import pytest

from vizcallbacks.pipeline import FramePipeline
from vizcallbacks.sinks import Sink

pytestmark = pytest.mark.once  # the same under every backend (see conftest.py)


class ListSink(Sink):
    def __init__(self, delay_s=0.0):
        self.frames, self.closed, self.delay_s = [], False, delay_s

    def send(self, frame, record):
        time.sleep(self.delay_s)
        self.frames.append((frame, record))

    def finish(self):
        self.closed = True


def test_order_is_kept_and_nothing_is_lost_under_back_pressure():
    sink = ListSink(delay_s=0.002)
    pipeline = FramePipeline(lambda job: (job[0] * 2, job[1]), [sink], queue_size=2)
    for i in range(50):
        pipeline.submit((i, i))
    pipeline.close()
    assert [r for _, r in sink.frames] == list(range(50))
    assert [f for f, _ in sink.frames] == [2 * i for i in range(50)]
    assert sink.closed and pipeline.frames_sent == 50


def test_submit_waits_when_the_queue_is_full():
    gate = threading.Event()
    sink = ListSink()
    pipeline = FramePipeline(lambda job: (gate.wait(), job)[1], [sink], queue_size=1)
    pipeline.submit((0, 0))  # taken by the worker, which then waits on the gate
    pipeline.submit((1, 1))  # fills the queue
    waited = threading.Thread(target=pipeline.submit, args=((2, 2),))
    waited.start()
    time.sleep(0.1)
    assert waited.is_alive()  # back-pressure, not loss
    gate.set()
    waited.join(2)
    pipeline.close()
    assert [r for _, r in sink.frames] == [0, 1, 2]


def test_a_render_error_reaches_the_caller_and_sinks_are_closed():
    sink = ListSink()

    def render(job):
        if job[0] == 3:
            raise ValueError("bad frame")
        return job

    pipeline = FramePipeline(render, [sink])
    with pytest.raises(ValueError, match="bad frame"):  # the worker's own error, type kept
        for i in range(100):
            pipeline.submit((i, i))
            time.sleep(0.005)
    pipeline.close()
    assert sink.closed and [r for _, r in sink.frames] == [0, 1, 2]


def test_after_an_error_no_frame_is_drawn_so_the_sinks_hold_no_gap():
    sink = ListSink()

    def render(job):
        if job[0] == 1:
            raise ValueError("bad frame")
        return job

    pipeline = FramePipeline(render, [sink])
    pipeline.submit((0, 0))
    pipeline.submit((1, 1))
    deadline = time.monotonic() + 10
    with pytest.raises(ValueError, match="bad frame"):
        while time.monotonic() < deadline:
            pipeline.submit((2, 2))  # raises once the worker has failed
            time.sleep(0.01)
    pipeline.submit((3, 3))  # a caller that goes on: taken, never drawn after the failed one
    pipeline.close()
    assert [r for _, r in sink.frames] == [0] and sink.closed


def test_errors_of_several_sinks_at_close_are_all_said():
    class FailingFinish(ListSink):
        def __init__(self, message):
            super().__init__()
            self.message = message

        def finish(self):
            raise OSError(self.message)

    pipeline = FramePipeline(lambda job: job, [FailingFinish("disk full"), FailingFinish("pipe broken")])
    pipeline.submit((0, 0))
    with pytest.raises(OSError, match="disk full") as raised:
        pipeline.close()
    assert any("pipe broken" in note for note in getattr(raised.value, "__notes__", ["pipe broken"]))


def test_close_after_an_interrupt_finishes_queued_frames_and_closes():
    sink = ListSink(delay_s=0.01)
    pipeline = FramePipeline(lambda x: x, [sink])
    try:
        for i in range(5):
            pipeline.submit((i, i))
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        pipeline.close()
    assert [r for _, r in sink.frames] == [0, 1, 2, 3, 4] and sink.closed
    assert not any(t.name == "vizcallbacks-frames" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        pipeline.submit((9, 9))


def test_foreground_mode_renders_at_once():
    sink = ListSink()
    pipeline = FramePipeline(lambda x: x, [sink], background=False)
    pipeline.submit((1, "a"))
    assert sink.frames == [(1, "a")]
    pipeline.close()


def test_sinks_are_opened_with_the_earlier_frames_and_a_failed_open_aborts_those_begun():
    opened = []

    class Opening(ListSink):
        def open(self, *, earlier=()):
            opened.append(list(earlier))

    class Failing(ListSink):
        def open(self, *, earlier=()):
            raise OSError("disk full")

    FramePipeline(lambda x: x, [Opening(), Opening()], earlier=["a.png", "b.png"]).close()
    assert opened == [["a.png", "b.png"]] * 2

    first, failing, never = ListSink(), Failing(), ListSink()
    with pytest.raises(OSError, match="disk full"):
        FramePipeline(lambda x: x, [first, failing, never])
    assert first.closed and failing.closed and not never.closed  # abort() is finish() unless overridden
    with pytest.raises(TypeError, match=r"sinks must be vizcallbacks\.sinks\.Sink instances.*object"):
        FramePipeline(lambda x: x, [object()])
