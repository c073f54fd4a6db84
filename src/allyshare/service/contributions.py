"""What a member organization contributed, as one of its users may see it: per collection,
how many objects it originated under its name and the newest of them, and apart those it
contributed anonymously. The versions are found by their access keys' originator, which
only the node knows for an anonymous contribution, and only for the user's own
organization: another organization, an admin of none or a peer finds nothing of it here.
Each page shown is a read, recorded as any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from allyshare.policy import ANONYMOUS
from allyshare.service.gate import CollectionAccess, Gate
from allyshare.service.reads import Reads, Shown
from allyshare.storage import Collection, Page, Store, User


@dataclass(frozen=True)
class Contributed:
    """One collection's share of the organization's contributions, as the user may see
    them: how many objects (their newest versions) and a page of the newest first."""

    access: CollectionAccess
    count: int
    newest: Page


class Contributions:
    def __init__(self, store: Store, gate: Gate, reads: Reads) -> None:
        self._store = store
        self._gate = gate
        self._reads = reads

    def summary(self, user: User, *, anonymous: bool, limit: int) -> list[Contributed]:
        """Every collection the user reads that holds some of its organization's objects
        (contributed under its name, or with ``anonymous`` anonymously), with their newest."""
        found = []
        for access in self._gate.collections_for(user):
            if not access.can_read:
                continue
            labels = self._own_keys(user, access.collection, anonymous=anonymous)
            count = self._store.count_latest(access.collection.id, labels)
            if count:
                newest = self._newest(user, access.collection, labels, None, limit)
                found.append(Contributed(access, count, newest))
        return found

    def page(
        self,
        user: User,
        collection_id: str,
        *,
        anonymous: bool,
        before: int | None,
        limit: int,
    ) -> Contributed:
        """One collection's contributions, newest first, from before ``before``."""
        access = self._gate.collection_for(user, collection_id, "read")
        labels = self._own_keys(user, access.collection, anonymous=anonymous)
        count = self._store.count_latest(collection_id, labels)
        return Contributed(
            access, count, self._newest(user, access.collection, labels, before, limit)
        )

    def _own_keys(self, user: User, collection: Collection, *, anonymous: bool) -> frozenset[int]:
        """The access keys of versions the user's organization originated here that the
        user may see: those it contributed under its name, or with ``anonymous`` those it
        contributed anonymously."""
        own = user.organization_id
        if own is None or user.peer is not None:
            return frozenset()
        view = self._gate.view(user, collection)
        keys = self._store.access_keys()
        return frozenset(
            seq
            for seq, key in keys.items()
            if key.originator == own
            and (view.visible is None or seq in view.visible)
            and (ANONYMOUS in key.marking_refs) == anonymous
        )

    def _newest(
        self,
        user: User,
        collection: Collection,
        labels: frozenset[int],
        before: int | None,
        limit: int,
    ) -> Page:
        """The newest versions, each as the user may see it (a field marked above the user's
        clearance is withheld from its own organization too), recorded as a read."""
        stored = self._store.newest_with_keys(collection.id, labels, before=before, limit=limit)
        shown = Shown()
        shown.add(stored.items, self._gate.view(user, collection), with_body=True)
        self._reads.recorded(user, collection.id, shown)
        return Page(shown.items, stored.more)
