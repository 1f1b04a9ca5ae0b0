"""The chair's state machine, quorum arithmetic and vote rules: plain code, small tests."""

import datetime as dt

import pytest

from server.domain.chair import ChairState, RequestKind, may_chair, takes_part
from server.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from server.domain.roles import Role
from server.domain.sitting import QuorumRule, sitting_body
from server.domain.votes import (
    AttendanceMode,
    Choice,
    NoQuorum,
    Quorum,
    Totals,
    VoteClosed,
    VoteStatus,
    check_ballot_allowed,
    check_can_open,
    check_hall_ballot,
    count_present,
    deadline,
    parse_choice,
    plan_hall_ballots,
)

T0 = 1_000_000.0


def room(*members: int, **kwargs) -> ChairState:
    state = ChairState(**kwargs)
    for member_id in members:
        state.join(member_id, f"Anggota {member_id}")
    return state


# -- quorum --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "seats", "required"),
    [
        (QuorumRule.HALF, 35, 18),
        (QuorumRule.TWO_THIRDS, 35, 24),
        (QuorumRule.THREE_QUARTERS, 35, 27),
        (QuorumRule.HALF, 45, 23),
        (QuorumRule.TWO_THIRDS, 45, 30),
        (QuorumRule.THREE_QUARTERS, 45, 34),
    ],
)
def test_quorum_is_reached_exactly_at_the_requirement(rule, seats, required):
    assert Quorum(rule, seats, required).reached
    assert not Quorum(rule, seats, required - 1).reached
    assert Quorum(rule, seats, required).required == required


def test_two_thirds_of_35_is_24_as_the_public_page_says():
    quorum = Quorum(QuorumRule.TWO_THIRDS, 35, 24)
    assert (quorum.present, quorum.seats, quorum.required, quorum.reached) == (24, 35, 24, True)


def test_a_member_in_the_hall_and_online_counts_once():
    assert count_present(remote={1, 2, 3}, hall={3, 4}) == 4
    assert count_present(remote=[], hall=[]) == 0


# -- votes ---------------------------------------------------------------------------------------


def test_no_vote_opens_without_quorum():
    with pytest.raises(NoQuorum, match="17/35"):
        check_can_open(Quorum(QuorumRule.HALF, 35, 17), vote_already_open=False)
    check_can_open(Quorum(QuorumRule.HALF, 35, 18), vote_already_open=False)


def test_only_one_vote_is_open_at_a_time():
    with pytest.raises(Conflict):
        check_can_open(Quorum(QuorumRule.HALF, 35, 30), vote_already_open=True)


def test_a_ballot_after_close_or_deadline_is_refused():
    now = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    check_ballot_allowed(VoteStatus.OPEN, None, now)
    check_ballot_allowed(VoteStatus.OPEN, now + dt.timedelta(seconds=1), now)
    with pytest.raises(VoteClosed):
        check_ballot_allowed(VoteStatus.CLOSED, None, now)
    with pytest.raises(VoteClosed):
        check_ballot_allowed(VoteStatus.OPEN, now, now)


def test_deadline_is_optional_and_bounded():
    now = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    assert deadline(now, None) is None
    assert deadline(now, 60) == now + dt.timedelta(seconds=60)
    for bad in (0, -5, 3601, "60", True):
        with pytest.raises(InvalidInput):
            deadline(now, bad)


def test_choices_are_the_three_of_the_tata_tertib():
    assert parse_choice("tidak_setuju") is Choice.TIDAK_SETUJU
    with pytest.raises(InvalidInput):
        parse_choice("ya")


def test_adopted_by_more_than_half_of_those_present():
    assert Totals(setuju=10, tidak_setuju=5, abstain=4).adopted(present=19)
    assert not Totals(setuju=10, tidak_setuju=5, abstain=5).adopted(present=20)
    assert Totals(1, 2, 3).cast == 6


# -- who may enter and chair ---------------------------------------------------------------------


def test_open_sittings_admit_every_member():
    assert takes_part(
        role=Role.ANGGOTA,
        is_public=True,
        sitting_type="komisi",
        sitting_komisi="Komisi A",
        member_komisi="Komisi B",
    )


def test_closed_komisi_sitting_admits_its_members_and_staff_only():
    closed = {"is_public": False, "sitting_type": "komisi", "sitting_komisi": "Komisi A"}
    assert takes_part(role=Role.ANGGOTA, member_komisi="komisi a", **closed)
    assert not takes_part(role=Role.ANGGOTA, member_komisi="Komisi B", **closed)
    assert not takes_part(role=Role.PIMPINAN, member_komisi=None, **closed)
    assert takes_part(role=Role.SEKRETARIAT, member_komisi=None, **closed)


def test_closed_paripurna_admits_every_member():
    closed = {"is_public": False, "sitting_type": "paripurna", "sitting_komisi": ""}
    assert takes_part(role=Role.ANGGOTA, member_komisi="Komisi C", **closed)


def test_chair_is_pimpinan_assisted_by_staff():
    assert may_chair(Role.PIMPINAN) and may_chair(Role.SEKRETARIAT) and may_chair(Role.ADMIN)
    assert not may_chair(Role.ANGGOTA)


# -- the queue -----------------------------------------------------------------------------------


def test_hands_queue_in_the_order_raised():
    state = room(1, 2, 3)
    state.raise_hand(3)
    state.raise_hand(1)
    state.raise_hand(2)
    assert state.queue() == [3, 1, 2]


def test_interupsi_goes_ahead_of_hands_in_its_own_order():
    state = room(1, 2, 3, 4)
    state.raise_hand(1)
    state.raise_hand(2, interruption=True)
    state.raise_hand(3)
    state.raise_hand(4, interruption=True)
    assert state.queue() == [2, 4, 1, 3]
    assert state.seats[2].request is RequestKind.INTERUPSI


def test_raising_the_same_hand_twice_keeps_the_place():
    state = room(1, 2)
    state.raise_hand(1)
    state.raise_hand(2)
    state.raise_hand(1)
    assert state.queue() == [1, 2]


def test_lowering_a_hand_leaves_the_queue():
    state = room(1, 2)
    state.raise_hand(1)
    state.raise_hand(2)
    state.lower_hand(1)
    assert state.queue() == [2]


def test_the_floor_holder_cannot_queue():
    state = room(1)
    state.give_floor(1, T0)
    with pytest.raises(Conflict):
        state.raise_hand(1)


# -- the floor and the timer ---------------------------------------------------------------------


def test_giving_the_floor_opens_the_mic_and_takes_them_out_of_the_queue():
    state = room(1, 2)
    state.raise_hand(1)
    floor = state.give_floor(1, T0)
    assert floor.member_id == 1 and floor.limit_s == 300
    assert state.queue() == []
    assert state.audio_allowed(1)


def test_next_speaker_takes_the_head_of_the_queue():
    state = room(1, 2, 3)
    state.raise_hand(1)
    state.raise_hand(3, interruption=True)
    assert state.next_speaker(T0).member_id == 3
    assert state.next_speaker(T0 + 10, limit_s=60).member_id == 1
    assert not state.audio_allowed(3), "the previous speaker's mic closes"
    with pytest.raises(Conflict):
        state.next_speaker(T0 + 20)


def test_taking_the_floor_back_closes_the_mic():
    state = room(1)
    state.give_floor(1, T0)
    state.take_floor()
    assert state.floor is None and not state.audio_allowed(1)


def test_the_chair_sets_the_limit_per_grant_within_bounds():
    state = room(1)
    assert state.give_floor(1, T0, limit_s=120).remaining(T0 + 20) == 100
    for bad in (5, 7200, "60"):
        with pytest.raises(InvalidInput):
            state.give_floor(1, T0, limit_s=bad)


def test_the_limit_fires_once_and_the_chair_sees_it():
    state = room(1)
    state.give_floor(1, T0, limit_s=60)
    assert not state.tick(T0 + 59)
    assert state.tick(T0 + 60)
    assert not state.tick(T0 + 61)
    assert state.floor.overtime(T0 + 61)
    assert state.audio_allowed(1), "without auto-mute the speaker may finish"


def test_auto_mute_at_the_limit_is_a_hard_mute_until_extended():
    state = room(1, auto_mute=True)
    state.give_floor(1, T0, limit_s=60)
    assert state.tick(T0 + 61)
    assert not state.audio_allowed(1)
    with pytest.raises(PermissionDenied):
        state.set_mic(1, True)
    state.extend(60)
    assert state.audio_allowed(1)
    assert not state.floor.overtime(T0 + 61)


def test_extending_needs_a_floor_holder():
    with pytest.raises(Conflict):
        room(1).extend(60)


# -- mutes ---------------------------------------------------------------------------------------


def test_members_toggle_their_own_mic():
    state = room(1)
    assert not state.audio_allowed(1), "a new seat starts with the mic closed"
    state.set_mic(1, True)
    assert state.audio_allowed(1)
    state.set_mic(1, False)
    assert not state.audio_allowed(1)


def test_hard_mute_holds_until_the_chair_allows():
    state = room(1)
    state.set_mic(1, True)
    state.mute(1)
    assert not state.audio_allowed(1)
    with pytest.raises(PermissionDenied, match="pimpinan"):
        state.set_mic(1, True)
    state.set_mic(1, False)
    state.allow(1)
    assert not state.audio_allowed(1), "allowing does not open the mic by itself"
    state.set_mic(1, True)
    assert state.audio_allowed(1)


def test_mute_all_spares_the_floor_holder():
    state = room(1, 2, 3)
    for member_id in (1, 2, 3):
        state.set_mic(member_id, True)
    state.give_floor(2, T0)
    assert sorted(state.mute_all()) == [1, 3]
    assert [state.audio_allowed(m) for m in (1, 2, 3)] == [False, True, False]


def test_mute_all_never_mutes_the_chair():
    state = room(1, 2)
    state.join(9, "Ketua DPRD", chair=True)
    state.set_mic(9, True)
    assert sorted(state.mute_all()) == [1, 2]
    assert state.audio_allowed(9)
    state.set_mic(9, False)
    state.set_mic(9, True)  # the chair's own "Buka mikrofon" still works


def test_giving_the_floor_lifts_a_hard_mute():
    state = room(1)
    state.mute(1)
    state.give_floor(1, T0)
    assert state.audio_allowed(1)


def test_commands_on_someone_not_in_the_room_are_not_found():
    with pytest.raises(NotFound):
        room(1).mute(9)


# -- presence, reconnection and removal ----------------------------------------------------------


def test_a_reconnection_keeps_hand_floor_and_mute_state():
    state = room(1, 2)
    state.raise_hand(2, interruption=True)
    state.give_floor(1, T0)
    state.disconnect(1, T0 + 5)
    state.disconnect(2, T0 + 5)
    state.join(1, "Anggota 1")
    state.join(2, "Anggota 2")
    assert state.floor.member_id == 1 and state.audio_allowed(1)
    assert state.queue() == [2]
    assert state.seats[1].connected


def test_the_seat_is_held_for_the_grace_period_then_released():
    state = room(1, 2)
    state.give_floor(1, T0)
    state.raise_hand(2)
    state.disconnect(1, T0)
    state.disconnect(2, T0 + 30)
    assert state.expired(T0 + 59, grace_s=60) == []
    assert state.expired(T0 + 60, grace_s=60) == [1]
    state.leave(1)
    assert state.floor is None and 1 not in state.seats
    assert state.queue() == [2], "a disconnected member keeps their place during the grace"


def test_a_removed_member_cannot_rejoin_until_readmitted():
    state = room(1)
    state.give_floor(1, T0)
    state.remove(1)
    assert state.floor is None
    with pytest.raises(PermissionDenied):
        state.join(1, "Anggota 1")
    assert state.removed == {1: "Anggota 1"}
    state.readmit(1)
    assert state.join(1, "Anggota 1").connected and not state.removed


# -- hall ballots entered by staff ---------------------------------------------------------------


def hall_present(hall: set[int], remote: set[int] = frozenset()) -> dict:
    return {AttendanceMode.HALL: set(hall), AttendanceMode.REMOTE: set(remote)}


def test_a_hall_ballot_needs_the_member_in_the_hall_and_not_online():
    check_hall_ballot(1, hall_present({1}))
    with pytest.raises(Conflict, match="tidak tercatat hadir"):
        check_hall_ballot(2, hall_present({1}))
    with pytest.raises(Conflict, match="daring"):
        check_hall_ballot(1, hall_present({1}, remote={1}))


def test_bulk_entry_records_everyone_in_the_hall_except_the_exceptions():
    plan = plan_hall_ballots(
        Choice.SETUJU,
        {2: Choice.TIDAK_SETUJU, 3: None},
        hall_present({1, 2, 3, 4, 5}, remote={5, 6}),
        voted={4},
    )
    assert plan.ballots == {1: Choice.SETUJU, 2: Choice.TIDAK_SETUJU}
    assert (plan.remote, plan.already_voted) == ({5}, {4})


def test_bulk_entry_refuses_an_exception_for_someone_not_in_the_hall():
    with pytest.raises(InvalidInput):
        plan_hall_ballots(Choice.SETUJU, {9: Choice.ABSTAIN}, hall_present({1}), voted=set())


@pytest.mark.parametrize(
    ("sitting_type", "komisi", "body"),
    [
        ("paripurna", "Komisi C", None),
        ("komisi", "Komisi C", "Komisi C"),
        ("pansus", " Pansus Raperda Parkir ", "Pansus Raperda Parkir"),
        ("komisi", "", None),
    ],
)
def test_the_body_whose_members_make_the_quorum(sitting_type, komisi, body):
    assert sitting_body(sitting_type, komisi) == body
