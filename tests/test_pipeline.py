import threading
import time

import pytest

from vizcallbacks.pipeline import FrameFaultWarning, FramePipeline
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


class Record:
    def __init__(self, batch):
        self.epoch, self.batch = 1, batch


def _failing_render(at):
    def render(job):
        if job[0] == at:
            raise ValueError("bad frame")
        return job[0], Record(job[1])
    return render


def test_a_render_error_stops_the_frames_not_the_caller_and_is_raised_at_close_when_asked():
    sink = ListSink()
    pipeline = FramePipeline(_failing_render(3), [sink], on_error="raise")
    for i in range(20):  # the caller goes on: nothing is raised while it trains
        pipeline.submit((i, i))
    with pytest.raises(ValueError, match="bad frame") as raised:  # the worker's own error, type kept
        pipeline.close()
    assert sink.closed and [r.batch for _, r in sink.frames] == [0, 1, 2]  # no gap: none drawn after it
    assert "FramePipeline: drawing failed at frame 4: ValueError: bad frame" in " ".join(raised.value.__notes__)
    assert not pipeline.drawing and len(pipeline.faults) == 1


def test_a_render_error_is_warned_about_once_and_close_does_not_raise():
    sink = ListSink()
    pipeline = FramePipeline(_failing_render(1), [sink], owner="Test")
    with pytest.warns(FrameFaultWarning) as caught:
        for i in range(20):
            pipeline.submit((i, i))
            time.sleep(0.002)
        pipeline.close()
    assert [str(w.message) for w in caught] == [
        "Test: drawing failed at frame 2: ValueError: bad frame. Training goes on; no more "
        "frames are drawn. Kept: 1 frames in ListSink."]
    assert [r.batch for _, r in sink.frames] == [0] and sink.closed


def test_a_failing_sink_stops_alone_and_the_others_get_every_frame():
    class FullDisk(ListSink):
        def send(self, frame, record):
            if record.batch == 2:
                raise OSError(28, "No space left on device")
            super().send(frame, record)

        def abort(self):
            self.aborted = True

    full, fine = FullDisk(), ListSink()
    pipeline = FramePipeline(lambda job: (job[0], Record(job[1])), [full, fine], on_error="warn")
    with pytest.warns(FrameFaultWarning, match=r"FullDisk failed at frame 3 \(epoch 1, batch 2\): OSError: "
                                               r"\[Errno 28\] No space left on device\. Training goes on; it gets "
                                               r"no more frames\. Kept: 2 frames in FullDisk \(it failed\); "
                                               r"2 frames in ListSink\.") as caught:
        for i in range(6):
            pipeline.submit((i, i))
        pipeline.close()
    assert len(caught) == 1
    assert [r.batch for _, r in full.frames] == [0, 1] and full.aborted and not full.closed
    assert [r.batch for _, r in fine.frames] == list(range(6)) and fine.closed
    assert pipeline.frames_sent == 6 and pipeline.drawing


def test_errors_of_several_sinks_at_close_are_all_said():
    class FailingFinish(ListSink):
        def __init__(self, message):
            super().__init__()
            self.message = message

        def finish(self):
            raise OSError(self.message)

    pipeline = FramePipeline(lambda job: job, [FailingFinish("disk full"), FailingFinish("pipe broken")],
                             on_error="raise")
    pipeline.submit((0, 0))
    with pytest.raises(OSError, match="disk full") as raised:
        pipeline.close()
    assert any("pipe broken" in note for note in raised.value.__notes__)
    with pytest.raises(ValueError, match=r"on_error must be one of 'warn', 'raise'.*Received: on_error='stop'"):
        FramePipeline(lambda job: job, [], on_error="stop")


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
