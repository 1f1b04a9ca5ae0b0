"""The naive comment fan-out that bench/comments.py measures ours against.

What a chat tutorial does: the poster's handler encodes the comment to JSON and sends it to every
socket, once per comment per socket, with no batching and no frame built once for all. It keeps
nothing and moderates nothing, so its cost is fan-out alone.

    python bench/naive_comments.py --port 8090
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json

from aiohttp import WSMsgType, web

SOCKETS = web.AppKey("sockets", set)
SERIAL = web.AppKey("serial", itertools.count)


def dumps(frame: dict) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


async def comment_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    await ws.send_str(dumps({"type": "hello", "viewers": len(sockets), "slow_mode": 0}))
    try:
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            post = json.loads(message.data)
            comment = {
                "type": "comment",
                "id": str(next(request.app[SERIAL])),
                "name": post["name"],
                "text": post["text"],
                "at": dt.datetime.now(dt.UTC).isoformat(),
                "offset": 0.0,
            }
            for peer in tuple(sockets):
                if not peer.closed:
                    await peer.send_str(dumps(comment))
    finally:
        sockets.discard(ws)
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    app = web.Application()
    app[SOCKETS] = set()
    app[SERIAL] = itertools.count(1)
    app.router.add_get("/sidang/{sitting_id}/komentar/ws", comment_socket)
    web.run_app(app, host="127.0.0.1", port=parser.parse_args().port, print=None)


if __name__ == "__main__":
    main()
