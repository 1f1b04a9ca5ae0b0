"""Forum pages: parse the request, call ForumService, render. Form mistakes re-show the form
with the message beside its field; every form carries the CSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from server import keys
from server.auth import get_user, require_user, requires
from server.comments.views import resident_sender
from server.domain.errors import DomainError, InvalidInput, RateLimited
from server.domain.moderation import MAX_SLOW_MODE_S, Refused
from server.domain.roles import MODERATORS, STAFF
from server.forum.service import (
    BADGE_LABELS,
    MAX_POSITION,
    MEMBERS,
    PAGE_SIZE,
    REPLY_KIND,
    THREAD_KIND,
    TOPIC_PAGE_SIZE,
    Author,
    Opening,
    badge_of,
    reply_url,
)
from server.http import error_message, path_id
from server.i18n import N_
from server.middlewares import status_for
from server.schemas import OFFSET
from server.templating import redirect, render

REFUSAL_STATUS = {"rate_limited": 429, "slow_mode": 429, "banned": 403, "closed": 409}


def _page(request: web.Request, name: str, context: dict[str, Any], status: int = 200):
    user = get_user(request)
    return render(
        request,
        f"forum/{name}",
        {
            "BADGE_LABELS": BADGE_LABELS,
            "is_moderator": bool(user and user.has(MODERATORS)),
            "is_member": bool(user and user.has(MEMBERS)),
            "is_staff": bool(user and user.has(STAFF)),
            # Members and staff post under their account; anyone else under a display name.
            "has_badge": bool(user and badge_of(user)),
            "reply_kind": REPLY_KIND,
            "thread_kind": THREAD_KIND,
            **context,
        },
        status=status,
    )


def _errors(request: web.Request, error: DomainError) -> tuple[dict[str, str], str, int]:
    """Field messages, the general message, and the status for a refused form."""
    translations = request.app[keys.TRANSLATIONS]
    message = error_message(translations, error)
    if isinstance(error, InvalidInput) and error.fields:
        fields = {k: translations.format(v, error.params) for k, v in error.fields.items()}
        return fields, message, status_for(error)
    if isinstance(error, Refused):
        # The gate's refusals are all 400 to the error mapping; a form says more exactly
        # why the text was not taken: too soon (429), banned (403), a locked thread (409).
        status = REFUSAL_STATUS.get(error.code, status_for(error))
        return {"body": message}, message, status
    return {}, message, status_for(error)


def _values(data: MultiDictProxy) -> dict[str, str]:
    return {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}


def _optional_id(data: MultiDictProxy, name: str, field: str) -> int | None:
    value = data.get(name, "")
    if not isinstance(value, str) or not value.strip():
        return None
    if not value.strip().isdigit() or not 0 < int(value) < 2**31:
        message = N_("Nomor tidak valid.")
        raise InvalidInput(message, fields={field: message})
    return int(value)


def _author(request: web.Request, response: web.StreamResponse, data: MultiDictProxy) -> Author:
    wants_mail = data.get("notify") == "1"
    return Author(
        sender=resident_sender(request, response),
        name=str(data.get("name", "")),
        user=get_user(request),
        email=str(data.get("email", "")) if wants_mail else "",
    )


# Residents


# A new thread about a sitting or a Raperda starts from that page: `/forum?rapat=ID` picks a
# topic, and the new-thread form comes with the link filled in (checked when it is posted).
ABOUT_PARAMS = {"sitting_id": "rapat", "raperda_id": "raperda"}


def _about(query) -> dict[str, str]:
    return {
        field: query[param]
        for field, param in ABOUT_PARAMS.items()
        if query.get(param, "").isdigit() and len(query[param]) <= 12
    }


async def index(request: web.Request) -> web.Response:
    service = request.app[keys.FORUM]
    query, offset = _search_terms(request)
    results = await service.search(query, offset) if query else None
    more = results is not None and len(results) == TOPIC_PAGE_SIZE
    about = _about(request.query)
    context = {
        "index": await service.index(),
        "q": query,
        "results": results,
        "next_offset": offset + TOPIC_PAGE_SIZE if more else None,
        "about_query": urlencode({ABOUT_PARAMS[field]: value for field, value in about.items()}),
    }
    return _page(request, "index.html", context)


async def topic(request: web.Request) -> web.Response:
    return await _topic(request, {}, {})


async def _topic(request, values, errors, alert: str = "", status: int = 200):
    page = await request.app[keys.FORUM].topic_page(
        path_id(request, "topic_id"), request.query.get("sebelum")
    )
    context = {
        "page": page,
        "held": "ditahan" in request.query,
        "saved": request.query.get("tersimpan", ""),
        "values": values,
        "errors": errors,
        "alert": alert,
        "max_position": MAX_POSITION,
    }
    return _page(request, "topic.html", context, status)


async def new_thread_form(request: web.Request) -> web.Response:
    return await _new_thread(request, _about(request.query), {})


async def _new_thread(request, values, errors, alert: str = "", status: int = 200):
    service = request.app[keys.FORUM]
    page = await service.topic_page(path_id(request, "topic_id"))
    context = {
        "topic": page.topic,
        "categories": await service.categories(),
        "values": values,
        "errors": errors,
        "alert": alert,
        "mail_possible": service.vault.available,
    }
    return _page(request, "new_thread.html", context, status)


async def open_thread(request: web.Request) -> web.Response:
    service = request.app[keys.FORUM]
    data = await request.post()
    response = redirect("/forum")
    try:
        opening = Opening(
            topic_id=path_id(request, "topic_id"),
            title=str(data.get("title", "")),
            body=str(data.get("body", "")),
            sitting_id=_optional_id(data, "sitting_id", "sitting_id"),
            raperda_id=_optional_id(data, "raperda_id", "raperda_id"),
            category_id=_optional_id(data, "category_id", "category_id"),
        )
        thread = await service.open_thread(opening, _author(request, response, data))
    except (InvalidInput, Refused, RateLimited) as error:
        errors, message, status = _errors(request, error)
        return await _new_thread(request, _values(data), errors, message, status)
    held = f"/forum/{opening.topic_id}?ditahan=1"  # waits for a moderator, not yet public
    response.headers["Location"] = held if thread.hidden else f"/forum/utas/{thread.id}"
    return response


async def thread(request: web.Request) -> web.Response:
    return await _thread(request, {}, {})


async def _thread(request, values, errors, alert: str = "", status: int = 200):
    service = request.app[keys.FORUM]
    user = get_user(request)
    page = await service.thread_page(
        path_id(request, "thread_id"),
        after=_cursor(request, "setelah"),
        before=_cursor(request, "sebelum"),
        moderator=bool(user and user.has(MODERATORS)),
    )
    query, offset = _search_terms(request)
    matches, more = (
        await service.search_thread(page.thread.id, query, offset) if query else ([], False)
    )
    context = {
        "page": page,
        "q": query,
        "matches": matches,
        "next_offset": offset + TOPIC_PAGE_SIZE if more else None,
        "values": values,
        "errors": errors,
        "alert": alert,
        "page_size": PAGE_SIZE,
        "mail_possible": service.vault.available,
        "saved": request.query.get("tersimpan", ""),
        "max_slow_mode": MAX_SLOW_MODE_S,
    }
    return _page(request, "thread.html", context, status)


def _search_terms(request: web.Request) -> tuple[str, int]:
    """The searched text (`q`, at most 200 characters) and the results' offset."""
    return request.query.get("q", "").strip()[:200], OFFSET.read(request.query, "offset") or 0


def _cursor(request: web.Request, name: str) -> int | None:
    value = request.query.get(name, "")
    return int(value) if value.isdigit() and int(value) < 2**31 else None


async def reply(request: web.Request) -> web.Response:
    thread_id = path_id(request, "thread_id")
    data = await request.post()
    response = redirect(f"/forum/utas/{thread_id}")
    try:
        posted = await request.app[keys.FORUM].reply(
            thread_id, data.get("body"), _author(request, response, data)
        )
    except (InvalidInput, Refused, RateLimited) as error:
        errors, message, status = _errors(request, error)
        return await _thread(request, _values(data), errors, message, status)
    held = f"/forum/utas/{thread_id}?tersimpan=ditahan"
    response.headers["Location"] = held if posted.hidden else reply_url(thread_id, posted.id)
    return response


async def unsubscribe_form(request: web.Request) -> web.Response:
    return _page(request, "unsubscribe.html", {"token": request.query.get("k", ""), "done": False})


async def unsubscribe(request: web.Request) -> web.Response:
    data = await request.post()
    await request.app[keys.FORUM].unsubscribe(str(data.get("k", "")))
    return _page(request, "unsubscribe.html", {"token": "", "done": True})


# Members, moderators and staff


@requires(MEMBERS)
async def mark_official(request: web.Request) -> web.Response:
    data = await request.post()
    posted = await request.app[keys.FORUM].mark_official(
        require_user(request), path_id(request, "reply_id"), data.get("official") == "1"
    )
    return redirect(reply_url(posted.thread_id, posted.id))


@requires(MODERATORS)
async def moderate(request: web.Request) -> web.Response:
    thread_id = path_id(request, "thread_id")
    data = await request.post()
    slow = data.get("slow_mode_s")
    await request.app[keys.FORUM].moderate(
        require_user(request),
        thread_id,
        locked=data.get("locked") == "1" if "locked" in data else None,
        slow_mode_s=int(slow) if isinstance(slow, str) and slow.strip().isdigit() else slow,
    )
    return redirect(f"/forum/utas/{thread_id}?tersimpan=pengaturan")


@requires(MODERATORS)
async def ban_thread_author(request: web.Request) -> web.Response:
    return await _ban(request, THREAD_KIND, path_id(request, "thread_id"))


@requires(MODERATORS)
async def ban_reply_author(request: web.Request) -> web.Response:
    return await _ban(request, REPLY_KIND, path_id(request, "reply_id"))


async def _ban(request: web.Request, kind: str, target_id: int) -> web.Response:
    data = await request.post()
    minutes = data.get("minutes", "")
    await request.app[keys.FORUM].ban(
        require_user(request),
        kind,
        target_id,
        int(minutes) if isinstance(minutes, str) and minutes.isdigit() else None,
        str(data.get("reason", "")).strip(),
    )
    back = str(data.get("back", ""))
    return redirect(back if back.startswith("/forum/") else "/forum")


@requires(STAFF)
async def add_topic(request: web.Request) -> web.Response:
    data = await request.post()
    topic = await request.app[keys.FORUM].add_topic(
        require_user(request),
        str(data.get("komisi", "")),
        str(data.get("title", "")),
        str(data.get("description", "")),
    )
    return redirect(f"/forum/{topic.id}")


@requires(STAFF)
async def edit_topic(request: web.Request) -> web.Response:
    topic_id = path_id(request, "topic_id")
    data = await request.post()
    try:
        await request.app[keys.FORUM].edit_topic(
            require_user(request),
            topic_id,
            title=data.get("title"),
            description=data.get("description"),
            position=data.get("position"),
            archived=data.get("archived") == "1",
        )
    except InvalidInput as error:
        errors, message, status = _errors(request, error)
        return await _topic(request, _values(data), errors, message, status)
    return redirect(f"/forum/{topic_id}?tersimpan=topik")
