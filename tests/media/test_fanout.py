import av

from media.fanout import PacketFanout


def _packet(i: int, key: bool) -> av.Packet:
    p = av.Packet(bytes([i % 256]) * 10)
    p.pts, p.is_keyframe = i, key
    return p


async def test_new_subscriber_is_gated_until_keyframe() -> None:
    requests = []
    fanout = PacketFanout("v", on_keyframe_request=lambda: requests.append(1))
    fanout.publish(_packet(0, True))
    sub = fanout.subscribe()
    assert requests == [1]  # joining mid-stream asks for an IDR
    fanout.publish(_packet(1, False))
    fanout.publish(_packet(2, True))
    fanout.publish(_packet(3, False))
    assert [(await sub.recv()).pts for _ in range(2)] == [2, 3]
    assert sub.queue.empty() and sub.dropped == 1


async def test_slow_subscriber_drops_to_next_keyframe_without_blocking_others() -> None:
    fanout = PacketFanout("v", maxsize=4)
    slow, fast = fanout.subscribe(), fanout.subscribe()
    received = []
    for i in range(10):
        fanout.publish(_packet(i, key=i % 6 == 0))
        received.append((await fast.recv()).pts)
    assert received == list(range(10)) and fast.dropped == 0
    # 0..3 filled the bounded queue; 4 overflowed, so 4 and 5 are lost and 0..3 discarded:
    # the slow subscriber resumes cleanly at keyframe 6.
    assert slow.queue.qsize() == 4
    assert [(await slow.recv()).pts for _ in range(4)] == [6, 7, 8, 9]
    assert slow.dropped == 6


async def test_keyframe_requests_are_throttled() -> None:
    requests = []
    fanout = PacketFanout("v", on_keyframe_request=lambda: requests.append(1))
    fanout.publish(_packet(0, True))
    subs = [fanout.subscribe() for _ in range(50)]
    assert len(requests) == 1 and len(subs) == 50


async def test_close_ends_subscribers() -> None:
    fanout = PacketFanout("v")
    sub = fanout.subscribe()
    fanout.publish(_packet(0, True))
    fanout.close()
    assert (await sub.recv()).pts == 0
    try:
        await sub.recv()
    except EOFError:
        pass
    else:
        raise AssertionError("expected EOFError")
