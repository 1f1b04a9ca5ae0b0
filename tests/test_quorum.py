import pytest

from server.domain.sitting import QuorumRule, quorum_required


@pytest.mark.parametrize(
    ("rule", "seats", "required"),
    [
        (QuorumRule.HALF, 35, 18),
        (QuorumRule.TWO_THIRDS, 35, 24),
        (QuorumRule.THREE_QUARTERS, 35, 27),
        (QuorumRule.HALF, 45, 23),
        (QuorumRule.TWO_THIRDS, 45, 30),
        (QuorumRule.THREE_QUARTERS, 45, 34),
        (QuorumRule.HALF, 50, 26),
        (QuorumRule.TWO_THIRDS, 30, 20),
    ],
)
def test_quorum_follows_uu_23_2014_art_183(rule, seats, required):
    assert quorum_required(rule, seats) == required
