"""Semantic comparison of two streams or two directories of recordings, and its reports.

Parts: `compare` (digests and their differences), `events` (event kinds with runs collapsed), `values` (JSON and
text changes), `report` (text, JSON and JUnit outputs).
"""

from .compare import Options, diff_paths

__all__ = ["Options", "diff_paths"]
