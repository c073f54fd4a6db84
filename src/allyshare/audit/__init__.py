"""Transparency log building blocks: RFC 9162 Merkle trees and proofs, and the C2SP signed-note,
checkpoint and cosignature formats, as pure functions a log store and its witnesses share."""
