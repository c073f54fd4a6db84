"""Search: one box for an observable value, a name or an object id across every collection the
user may read, answered from the correlation index (an id is read in each collection); and
private matching of the user's own list of values against match-only data, on this node or
a peer's, on the organization's budget, with a request to the holders to get in touch.

What is not an id is looked up as an observable value and as a name (of the named types,
`allyshare.observables.NAMED_TYPES`), both in one lookup: a name is matched whole, in any
case and spacing, so ``lazarus group`` finds "Lazarus Group" and a malware named like a
domain is found beside the domain. A lookup lists at most `SHOWN` objects, newest first,
each read through the gate like any other read, so the page shows exactly what TAXII would.
Matching shows only what private set intersection tells the member: which of its own values
matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from allyshare.errors import AllyshareError, OverBudget
from allyshare.federation.matching import match_at_peer
from allyshare.matching.psi import MAX_REQUEST
from allyshare.policy import AccessLabel
from allyshare.service import Node
from allyshare.service.matching import Matched
from allyshare.service.sessions import Session
from allyshare.storage import Collection, User, VersionFilter
from allyshare.ui.banner import Banner, Chip, banner, chips
from allyshare.ui.web import Ui, form_text, title_of

__all__ = ["SHOWN", "routes"]

SHOWN = 100
"""Objects a lookup lists: a value in more is worth narrowing, not paging through."""
LONGEST_VALUE = 2048
LONGEST_MESSAGE = 2000
VALUES_FILE_LIMIT = 2 * 1024 * 1024
_STIX_ID = re.compile(
    r"[a-z0-9][a-z0-9-]*--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
_HERE = "local"
_AT_PEER = "peer"


@dataclass(frozen=True)
class Found:
    """One object a search found, in one collection, as the user may see it there."""

    collection: Collection
    obj: dict[str, Any]
    title: str
    chips: list[Chip]
    sightings: int


@dataclass(frozen=True)
class Searched:
    """What a search tells: the objects listed, and of the rest only how many."""

    found: list[Found]
    labels: list[AccessLabel]
    understood: bool
    common: int | None = None
    more: int = 0
    organizations_not_shown: int | None = None


@dataclass(frozen=True)
class Target:
    """Where a list is matched: a collection on this node, or one on a peer node."""

    value: str
    collection: str
    peer: str | None
    said: str


class Refused(Exception):
    """A matching form that cannot be sent as it is, and why, in words."""


def routes(ui: Ui) -> list[BaseRoute]:
    node = ui.node

    def targets(user: User) -> list[Target]:
        readable = [a.collection for a in node.collections_for(user) if a.can_read]
        titles = {collection.id: collection.title for collection in readable}
        found = [
            Target(f"{_HERE}:{c.id}", c.id, None, f"{c.title}, on this node") for c in readable
        ]
        for peer, remote, local in node.peer_collections_to_match(actor=user):
            found.append(
                Target(
                    f"{_AT_PEER}:{peer}:{remote}",
                    remote,
                    peer,
                    f"{titles[local]}, at peer {peer} (its collection that syncs here)",
                )
            )
        return found

    def search(user: User, query: str) -> Searched:
        readable = {a.collection.id: a.collection for a in node.collections_for(user) if a.can_read}
        listed: list[tuple[str, str]] = []  # (collection, object id), newest first
        sighted: dict[str, int] = {}
        not_shown: int | None = None
        more = 0
        if _STIX_ID.fullmatch(query):
            listed = [(collection_id, query) for collection_id in readable]
        else:
            [correlated] = node.lookup([query], names=True, actor=user)
            if not correlated.observables:
                return Searched([], [], understood=False)
            not_shown = correlated.organizations_not_shown
            if correlated.common:
                return Searched(
                    [], [], True, common=correlated.count, organizations_not_shown=not_shown
                )
            newest = sorted(
                correlated.mentions.values(), key=lambda m: (-m.last_added, m.object_id)
            )
            more = max(0, len(newest) - SHOWN)
            for mention in newest[:SHOWN]:
                if mention.sightings is not None:
                    sighted[mention.object_id] = mention.sightings.total.sightings
                listed.extend((c, mention.object_id) for c in sorted(mention.collections))
        wanted: dict[str, list[str]] = {}
        for collection_id, object_id in listed:
            if collection_id in readable:
                wanted.setdefault(collection_id, []).append(object_id)
        read: dict[tuple[str, str], dict[str, Any]] = {}
        for collection_id, ids in wanted.items():
            selection = VersionFilter(object_ids=tuple(ids))
            page = node.read_objects(user, collection_id, selection, limit=len(ids))
            for item in page.items:
                read[(collection_id, item.object_id)] = orjson.loads(item.body)
        shown = [(key, read[key]) for key in listed if key in read]
        labels = node.marking_labels([obj for _, obj in shown])
        found = [
            Found(
                readable[collection_id],
                obj,
                title_of(obj),
                chips(label),
                sighted.get(object_id, 0),
            )
            for ((collection_id, object_id), obj), label in zip(shown, labels, strict=True)
        ]
        carried = node.shown_labels([obj for _, obj in shown])
        return Searched(found, carried, True, more=more, organizations_not_shown=not_shown)

    async def page(
        request: Request,
        session: Session,
        *,
        shown: Banner | None = None,
        status: int = 200,
        **context: Any,
    ) -> Response:
        choices = await ui.run(targets, session.user)
        return ui.render(
            request,
            "search.html",
            shown or banner([]),
            status=status,
            session=session,
            targets=choices,
            **{"query": "", "searched": None, "problem": None, **context},
        )

    async def search_page(request: Request, session: Session) -> Response:
        if "q" not in request.query_params:
            return await page(request, session)
        query = request.query_params["q"].strip()
        problem = _query_problem(query)
        if problem is not None:
            return await page(request, session, status=400, query=query, problem=problem)
        searched = await ui.run(search, session.user, query)
        return await page(
            request, session, shown=banner(searched.labels), query=query, searched=searched
        )

    async def match(request: Request, session: Session) -> Response:
        form = await request.form()
        chosen = form_text(form, "target")
        typed = form_text(form, "values")
        message = form_text(form, "contact").strip()
        kept: dict[str, Any] = {"chosen": chosen, "typed": typed, "message": message}
        try:
            values = _values(typed, await _values_file(form))
            target = _target(chosen)
            if len(message) > LONGEST_MESSAGE:
                raise Refused(f"a message to the holders is at most {LONGEST_MESSAGE:,} characters")
            matched = await ui.run(_match, node, session.user, target, values, message or None)
        except Refused as exc:
            return await page(request, session, status=400, match_problem=str(exc), **kept)
        except OverBudget as exc:
            said = f"over your organization's matching budget: {exc}"
            return await page(request, session, status=429, match_problem=said, **kept)
        except AllyshareError as exc:
            return await page(request, session, status=400, match_problem=str(exc), **kept)
        return await page(
            request,
            session,
            matched=matched,
            resets=_when(matched.budget_resets),
            contacted=bool(message) and bool(matched.matched),
            **kept,
        )

    return [
        Route("/search", ui.signed_in(search_page), methods=["GET"]),
        Route("/search/match", ui.signed_in(match), methods=["POST"]),
    ]


def _match(
    node: Node, user: User, target: Target, values: list[str], contact: str | None
) -> Matched:
    if target.peer is None:
        return node.match(target.collection, values, contact=contact, actor=user)
    return match_at_peer(node, target.peer, target.collection, values, contact=contact, actor=user)


def _when(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _query_problem(query: str) -> str | None:
    if not query:
        return "type a value, a name or an object id to search for"
    if len(query) > LONGEST_VALUE:
        return f"a search is at most {LONGEST_VALUE:,} characters"
    if "\x00" in query:
        return "a search cannot hold a NUL character"
    return None


async def _values_file(form: FormData) -> str:
    """The text of the uploaded list of values, if one was chosen."""
    sent = form.get("values_file")
    if not isinstance(sent, UploadFile) or not sent.filename:
        return ""
    if sent.size is not None and sent.size > VALUES_FILE_LIMIT:
        raise Refused(f"a file of values is at most {VALUES_FILE_LIMIT // 1024 // 1024} MiB")
    content = await sent.read(VALUES_FILE_LIMIT + 1)
    if len(content) > VALUES_FILE_LIMIT:
        raise Refused(f"a file of values is at most {VALUES_FILE_LIMIT // 1024 // 1024} MiB")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(f"{sent.filename} is not UTF-8 text: one value per line") from None


def _values(*texts: str) -> list[str]:
    """The values of every line given, each once, in the order given."""
    values = list(
        dict.fromkeys(line.strip() for text in texts for line in text.splitlines() if line.strip())
    )
    if not values:
        raise Refused("paste or upload at least one value to match, one per line")
    if len(values) > MAX_REQUEST:
        raise Refused(f"at most {MAX_REQUEST:,} values per match; this list has {len(values):,}")
    for value in values:
        if len(value) > LONGEST_VALUE or "\x00" in value:
            raise Refused(f"a value is at most {LONGEST_VALUE:,} characters of text: {value[:60]}…")
    return values


def _target(chosen: str) -> Target:
    kind, _, rest = chosen.partition(":")
    if kind == _HERE and rest:
        return Target(chosen, rest, None, "")
    peer, _, collection = rest.partition(":")
    if kind == _AT_PEER and peer and collection:
        return Target(chosen, collection, peer, "")
    raise Refused("choose a collection to match against")
