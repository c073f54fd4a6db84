"""Private matching: a member learns which of its own values occur among values it may not
read (match-only data), and nothing about the others, by private set intersection; the
holder learns how many values were asked. Budgets keep small value spaces from being
enumerated."""

from allyshare.matching.budget import Budget, Refusal
from allyshare.matching.psi import Holder, Seeker, element

__all__ = ["Budget", "Holder", "Refusal", "Seeker", "element"]
