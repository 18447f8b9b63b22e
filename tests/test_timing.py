import threading
import time

import pytest

from vizcallbacks.capture.schedule import FrameSchedule, LogBook

pytestmark = pytest.mark.once  # the same under every backend (see conftest.py)


def test_a_frame_at_batch_zero_and_every_n_batches():
    schedule = FrameSchedule(every_n_batches=4)
    schedule.start_epoch()
    assert [schedule.due(batch) for batch in range(10)] == [0, None, None, None, 4, None, None, None, 8, None]
    schedule.start_epoch()  # every epoch starts again at batch 0
    assert schedule.due(0) == 0


def test_hooks_every_k_batches_give_a_frame_at_the_first_hook_past_each_multiple():
    schedule = FrameSchedule(every_n_batches=20)
    schedule.start_epoch()
    # steps_per_execution=8: Keras reports batches 7, 15, 23, ...
    due = {batch: schedule.due(batch) for batch in range(7, 64, 8)}
    assert {batch: d for batch, d in due.items() if d is not None} == {7: 0, 23: 20, 47: 40, 63: 60}
    # one hook can pass two multiples: the frame stands for the later one
    schedule.start_epoch()
    assert schedule.due(3) == 0 and schedule.due(45) == 40


def test_the_log_book_hands_figures_to_a_thread_that_waits_for_them():
    book = LogBook()
    got = []
    waiter = threading.Thread(target=lambda: got.append(book.get(0, 5, timeout_s=5)))
    waiter.start()
    time.sleep(0.05)
    assert waiter.is_alive()  # the figures of batch 5 are not in yet
    book.put(0, 5, {"loss": 0.5})
    waiter.join(2)
    assert got == [{"loss": 0.5}]
    assert book.last_batch(0) == 5 and book.last_batch(1) is None
    with pytest.warns(UserWarning, match=r"no figures came for epoch 4, batch 3 in 0.01 s"):
        assert book.get(3, 3, timeout_s=0.01) == {}  # never reported: no figures, no hang, said


def test_the_log_book_forgets_old_batches():
    book = LogBook(keep=3)
    for batch in range(5):
        book.put(0, batch, {"loss": batch})
    with pytest.warns(UserWarning, match="no figures came for epoch 1, batch 1"):
        assert book.get(0, 1, timeout_s=0) == {}
    assert book.get(0, 4, timeout_s=0) == {"loss": 4}
