"""The forum's routes (handlers in server.forum.handlers)."""

from __future__ import annotations

from aiohttp import web

from server.forum import handlers as h

TOPIC = r"/forum/{topic_id:\d+}"
THREAD = r"/forum/utas/{thread_id:\d+}"
REPLY = r"/forum/balasan/{reply_id:\d+}"


def setup(app: web.Application) -> None:
    app.router.add_routes(
        [
            web.get("/forum", h.index, name="forum"),
            web.post("/forum/topik", h.add_topic),
            web.get("/forum/berhenti", h.unsubscribe_form),
            web.post("/forum/berhenti", h.unsubscribe),
            web.get(TOPIC, h.topic, name="forum_topic"),
            web.post(f"{TOPIC}/atur", h.edit_topic),
            web.get(f"{TOPIC}/baru", h.new_thread_form),
            web.post(f"{TOPIC}/baru", h.open_thread),
            web.get(THREAD, h.thread, name="forum_thread"),
            web.post(f"{THREAD}/balas", h.reply),
            web.post(f"{THREAD}/atur", h.moderate),
            web.post(f"{THREAD}/blokir", h.ban_thread_author),
            web.post(f"{REPLY}/resmi", h.mark_official),
            web.post(f"{REPLY}/blokir", h.ban_reply_author),
        ]
    )
