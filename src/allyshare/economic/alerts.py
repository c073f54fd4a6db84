"""The pattern alert: one coercing state applying the same measure to two or more of the
agreement's parties within a window, since a coordinated response starts from seeing that
the measure against one partner is not an isolated dispute.

A pattern is found among the incidents one reader may see (`allyshare.economic.views`):
for each coercing state and measure, every window of ``months`` months that opens at an
incident's start holds the incidents starting in it; the window is a pattern when they
target at least two distinct party countries and come from at least k distinct
organizations in total, counted at their fewest as the views count them (fewer would single
out the members who reported them). A window whose incidents another pattern holds too is
not told again. The alert is a STIX ``note`` naming the incidents, whose words say what
happened; the service gives it its markings.

Its id follows from what stays the same while a pattern grows: the collection it is written
into, the coercing state, the measure, and the incident its window opens at (which tells
apart two patterns of one state and measure). An incident joining the pattern makes a new
version of the same note, not a second note telling the same pattern again.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from allyshare.economic.views import (
    Contribution,
    Incident,
    distinct_organizations,
    incident_of,
)

PATTERN_LABEL = "economic-coercion-pattern"
"""The label of every alert note: how a reader's list of alerts finds them among notes."""
NOTE_NAMESPACE = uuid.UUID("8d1c6c3e-43b5-4f69-9d0e-5a0b9f7d2c41")
"""The same pattern is the same note, however often the alerts are written and however
it grows."""


@dataclass(frozen=True)
class Pattern:
    coercing_state: str
    measure: str
    months: int
    incidents: tuple[Incident, ...]
    """Oldest first."""

    @property
    def targets(self) -> list[tuple[str, list[str]]]:
        """Each targeted party country (in order of its first incident) with its months."""
        months: dict[str, list[str]] = {}
        for incident in self.incidents:
            if incident.targeted_country is not None:
                month = incident.start.strftime("%Y-%m")
                seen = months.setdefault(incident.targeted_country, [])
                if month not in seen:
                    seen.append(month)
        return list(months.items())

    @property
    def abstract(self) -> str:
        return (
            f"{self.coercing_state} {self.measure} against {len(self.targets)} parties "
            f"within {self.months} months"
        )

    @property
    def content(self) -> str:
        """The sentence, e.g. "CHN applied export-restriction to KOR (2023-07) and JPN
        (2023-10) within 12 months"."""
        told = [f"{country} ({', '.join(months)})" for country, months in self.targets]
        listed = f"{', '.join(told[:-1])} and {told[-1]}"
        return (
            f"{self.coercing_state} applied {self.measure} to {listed} within {self.months} months"
        )

    def note_id(self, collection_id: str) -> str:
        """The same for every version of the pattern written into the collection (module
        docstring)."""
        name = "|".join([collection_id, self.coercing_state, self.measure, self.incidents[0].id])
        return f"note--{uuid.uuid5(NOTE_NAMESPACE, name)}"

    @property
    def created(self) -> str:
        """When the pattern came to be: the start of its latest incident. It is the first
        version's ``created``; a later version keeps that one, as STIX has every version."""
        latest = max(incident.start for incident in self.incidents)
        return latest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def note(
        self,
        collection_id: str,
        modified: str,
        marking_refs: Sequence[str],
        created: str | None = None,
    ) -> dict[str, Any]:
        """The alert as a STIX note; ``modified``, ``marking_refs`` and the ``created`` of a
        note already written (None for a first version) are the service's."""
        note: dict[str, Any] = {
            "type": "note",
            "spec_version": "2.1",
            "id": self.note_id(collection_id),
            "created": self.created if created is None else created,
            "modified": modified,
            "abstract": self.abstract,
            "content": self.content,
            "object_refs": [incident.id for incident in self.incidents],
            "labels": [PATTERN_LABEL],
        }
        if marking_refs:
            note["object_marking_refs"] = list(marking_refs)
        return note


def patterns(
    contributions: Iterable[Contribution], parties: Collection[str], k: int, months: int
) -> list[Pattern]:
    """The patterns among the incidents (module docstring), by state, measure and start."""
    by_measure: dict[tuple[str, str], list[Incident]] = {}
    for incident in filter(None, map(incident_of, contributions)):
        if incident.targeted_country not in parties:
            continue
        for measure in incident.measures:
            by_measure.setdefault((incident.coercing_state, measure), []).append(incident)
    found: list[Pattern] = []
    for (state, measure), incidents in sorted(by_measure.items()):
        incidents.sort(key=lambda i: (i.start, i.id))
        windows: list[tuple[Incident, ...]] = []
        for at, opening in enumerate(incidents):
            closes = add_months(opening.start, months)
            window = tuple(i for i in incidents[at:] if i.start <= closes)
            if (
                len({i.targeted_country for i in window}) >= 2
                and distinct_organizations(i.organization for i in window) >= k
                and not any(set(window) <= set(earlier) for earlier in windows)
            ):
                windows.append(window)
        found.extend(Pattern(state, measure, months, window) for window in windows)
    return found


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    year, month = divmod(moment.month - 1 + months, 12)
    day = moment.day
    while True:
        try:
            return moment.replace(year=moment.year + year, month=month + 1, day=day)
        except ValueError:
            day -= 1
