"""Comment socket frames (DESIGN.md "Comment socket protocol") and their WebSocket encoding.

A comment is serialised and framed once per node, then the same bytes go to every socket: the
comment counterpart of the media rule "encode once, deliver many".
"""

from __future__ import annotations

import json
import struct
from typing import Any

from server.store.models import Comment

Frame = dict[str, Any]
IDENTITY_TAG_CHARS = 8  # enough for a moderator to recognise a repeat poster, too short to track


def comment_record(comment: Comment) -> dict[str, Any]:
    """What travels on the bus: everything a moderator may see, nothing that identifies a person."""
    return {
        "id": str(comment.id),
        "name": comment.name,
        "text": comment.text,
        "at": comment.at.isoformat(),
        "offset": comment.offset_s,
        "question": comment.question,
        "held": comment.held,
        "hidden": comment.hidden,
        "identity": comment.identity_hash[:IDENTITY_TAG_CHARS],
    }


def public_comment(record: dict[str, Any]) -> Frame:
    """Exactly the documented frame, plus additive flags only where they apply: `question` on
    comments marked as questions; `restored` on a comment whose hiding was undone and `late` on
    one that reached this node after newer ones (the bus was down): both belong at their place
    in the list, by id."""
    frame = {"type": "comment", **{k: record[k] for k in ("id", "name", "text", "at", "offset")}}
    for flag in ("question", "restored", "late"):
        if record.get(flag):
            frame[flag] = True
    return frame


def moderator_comment(record: dict[str, Any], kind: str = "comment") -> Frame:
    return {"type": kind, **record}


def hello(viewers: int, slow_mode_s: int) -> Frame:
    return {"type": "hello", "viewers": viewers, "slow_mode": slow_mode_s}


def error(code: str, message: str) -> Frame:
    return {"type": "error", "code": code, "message": message}


def dumps(frame: Frame) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def ws_text(frame: Frame) -> bytes:
    """One unmasked, unfragmented server-to-client text frame (RFC 6455 section 5.2)."""
    payload = dumps(frame).encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload
