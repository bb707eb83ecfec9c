"""The flow ids a batch's packets keep when their flow ended mid-batch (engine SPLIT)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.pipeline.engine import ended_flow_ids


def one_split_at_a_time(
    slots: npt.NDArray[np.int64], splits: list[tuple[int, int, int]]
) -> npt.NDArray[np.int64]:
    """As each split happens: the earlier packets of its slot not yet marked get its id."""
    ended = np.zeros(slots.shape[0], dtype=np.int64)
    for i, s, flow_id in splits:
        before = (slots[:i] == s) & (ended[:i] == 0)
        ended[:i][before] = flow_id
    return ended


@settings(max_examples=300, deadline=None)
@given(
    slots=st.lists(st.integers(-1, 4), min_size=1, max_size=60),
    picks=st.lists(st.integers(0, 59), min_size=1, max_size=12, unique=True),
)
def test_the_same_ids_as_marking_each_split_as_it_happens(
    slots: list[int], picks: list[int]
) -> None:
    column = np.array(slots, dtype=np.int64)
    # A split happens at a packet of a flow (slot >= 0), in packet order, each with a new id.
    at = sorted(i for i in picks if i < len(slots) and slots[i] >= 0)
    splits = [(i, slots[i], 100 + k) for k, i in enumerate(at)]
    if not splits:
        return
    got = ended_flow_ids(column, splits)
    assert got.tolist() == one_split_at_a_time(column, splits).tolist()


def test_packets_after_the_last_split_of_their_slot_keep_no_ended_id() -> None:
    slots = np.array([0, 1, 0, 0, 1, -1, 0], dtype=np.int64)
    # slot 0: flow 7 ends at packet 2 (which starts flow 8), flow 8 at packet 6 (flow 9's)
    got = ended_flow_ids(slots, [(2, 0, 7), (6, 0, 8)])
    assert got.tolist() == [7, 0, 8, 8, 0, 0, 0]
