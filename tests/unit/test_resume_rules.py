"""Which frames a resuming client gets (pure logic)."""

import pytest

from realtime.resume import ResumeRequest, missed_frames
from realtime.store.history import HistoryEntry, Position

POSITION = Position(epoch="e1", sequences={"t:1": 2, "m:5": 4, "m:6": 1})
HISTORY = [HistoryEntry(*entry) for entry in [
    ("t:1", 1, "T1"), ("m:5", 1, "A1"), ("m:5", 2, "A2"), ("t:1", 2, "T2"),
    ("m:5", 3, "A3"), ("m:6", 1, "B1"), ("m:5", 4, "A4"),
]]  # fmt: skip


def request(**sequences) -> ResumeRequest:
    return ResumeRequest(epoch="e1", sequences={k.replace("_", ":"): v for k, v in sequences.items()})


def test_exactly_the_missed_frames_in_publish_order():
    assert missed_frames(request(t_1=1, m_5=2, m_6=0), POSITION, HISTORY) == ["T2", "A3", "B1", "A4"]


def test_a_client_that_saw_everything_gets_nothing():
    assert missed_frames(request(t_1=2, m_5=4, m_6=1), POSITION, HISTORY) == []


def test_a_stream_the_client_never_saw_is_replayed_from_its_start():
    assert missed_frames(request(t_1=2, m_5=4), POSITION, HISTORY) == ["B1"]


def test_a_trimmed_history_means_a_snapshot():
    assert missed_frames(request(t_1=2, m_5=0, m_6=1), POSITION, HISTORY[2:]) is None


def test_another_epoch_or_a_client_ahead_of_the_server_means_a_snapshot():
    assert missed_frames(ResumeRequest("e0", {"m:5": 4}), POSITION, HISTORY) is None
    assert missed_frames(request(m_5=9), POSITION, HISTORY) is None


def test_a_match_room_only_replays_its_match():
    match_room = Position(epoch="e1", sequences={"t:1": 2, "m:6": 1})
    assert missed_frames(request(m_6=0, t_1=2), match_room, HISTORY) == ["B1"]


@pytest.mark.parametrize(
    "raw", ["", "[]", '{"sequences": {}}', '{"epoch": "e", "sequences": {"m:1": "3"}}', '{"epoch": 1, "sequences": {}}']
)
def test_malformed_resume_requests_are_refused(raw):
    with pytest.raises(ValueError):
        ResumeRequest.parse(raw)
