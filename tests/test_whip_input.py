"""Hostile WHIP bodies (issue 13, finding 11): a non-UTF-8 body or a malformed offer is a 400,
never a 500, and no peer connection is left behind."""

from __future__ import annotations

import random

import pytest

from server import keys
from server.domain.errors import InvalidInput
from server.live.views import parse_offer
from tests.live_helpers import whip_publisher
from tests.test_live import live_sitting, staff  # noqa: F401  (fixtures)

SDP = {"Content-Type": "application/sdp"}


@pytest.fixture
async def offer() -> str:
    pc = await whip_publisher()
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def replace_first(sdp: str, old: str, new: str) -> str:
    assert old in sdp
    return sdp.replace(old, new, 1)


def drop_lines(sdp: str, prefix: str) -> str:
    return "\r\n".join(line for line in sdp.split("\r\n") if not line.startswith(prefix))


def malformed(sdp: str) -> dict[str, str]:
    """Offers that made aiortc raise StopIteration, AttributeError or TypeError (each one a 500
    with the peer connection left open), and a few plainly broken ones."""
    audio = next(line for line in sdp.split("\r\n") if line.startswith("m=audio"))
    return {
        "mid renamed": replace_first(sdp, "a=mid:0", "a=mid00"),
        "m-line dropped": replace_first(sdp, audio + "\r\n", ""),
        "fmtp without value": replace_first(sdp, "packetization-mode=1", "packetization-mode"),
        "no fingerprint": drop_lines(sdp, "a=fingerprint"),
        "no ice password": drop_lines(sdp, "a=ice-pwd"),
        "truncated m-line": replace_first(sdp, audio, "m=audio"),
        "rtx without rtpmap": replace_first(sdp, "a=rtpmap:98 rtx/90000", "a="),  # StopIteration
        "bare rtcp-fb": replace_first(sdp, "a=rtcp-fb:", "a=rtcp-fb\r\na=rtcp-fb:"),
        "setup typo": replace_first(sdp, "a=setup:actpass", "a=setup:actpa"),
    }


def mutate(sdp: str, rng: random.Random) -> str:
    lines = sdp.split("\r\n")
    i = rng.randrange(len(lines))
    match rng.randrange(4):
        case 0:
            del lines[i]
        case 1:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        case 2:
            lines.insert(i, lines[rng.randrange(len(lines))])
        case _:
            j = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:j] + rng.choice("x:= /0") + lines[i][j + 1 :]
    return "\r\n".join(lines)


def test_mutated_offers_are_accepted_or_refused_never_an_untyped_error(offer):
    rng = random.Random(13)
    outcomes = {"accepted": 0, "refused": 0}
    for _ in range(300):
        try:
            parse_offer(mutate(mutate(offer, rng), rng).encode())
            outcomes["accepted"] += 1
        except InvalidInput:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0 and outcomes["accepted"] > 0


async def test_a_non_utf8_body_and_malformed_offers_are_400s(client, live_sitting, offer):  # noqa: F811
    sitting_id, key = live_sitting
    headers = {**SDP, "Authorization": f"Bearer {key}"}
    bodies = {
        "not UTF-8": b"v=0\r\n\xff\xfe\xfd",
        **{k: v.encode() for k, v in malformed(offer).items()},
    }
    for name, body in bodies.items():
        response = await client.post(f"/whip/{sitting_id}", data=body, headers=headers)
        assert response.status == 400, (name, await response.text())
        assert "SDP" in (await response.json())["error"]
    assert sitting_id not in client.app[keys.LIVE].publishers, "no session was created"
