"""Fan-in: pick upstream runs that were all built from the same revisions of shared roots.

GoCD (`FanInGraph`) walks each dependency's history, newest first, looking for one run per
dependency such that every material they have in common (transitively, down to source
materials) was at the same revision; it gives up after a backtrack limit. Here each candidate
run carries its *roots* — fingerprint → modification id of every source material it was built
from — and we backtrack the dependency whose conflicting root is the newest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BACKTRACK_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Candidate:
    """One passed upstream stage run a dependency material could use."""

    modification_id: int
    roots: Mapping[str, int]  # source material fingerprint → modification id it was built from


def resolve(
    candidates: Mapping[str, Sequence[Candidate]],
    direct_roots: Mapping[str, Sequence[int]] | None = None,
    limit: int = BACKTRACK_LIMIT,
) -> dict[str, int] | None:
    """One consistent choice: dependency fingerprint → modification id, plus the chosen
    modification id of each direct source material that a dependency also builds from.

    `candidates` lists each dependency's runs newest first; `direct_roots` lists the pipeline's
    own source materials' known modification ids, newest first. None when no consistent
    combination is found within `limit` backtracks.
    """
    direct = dict(direct_roots or {})
    positions = dict.fromkeys(candidates, 0)
    if any(not runs for runs in candidates.values()):
        return None
    for _ in range(limit + 1):
        chosen = {dep: candidates[dep][positions[dep]] for dep in candidates}
        conflict = _newest_conflict(chosen)
        if conflict is None:
            result = {dep: c.modification_id for dep, c in chosen.items()}
            for fingerprint, ids in direct.items():
                pinned = {c.roots[fingerprint] for c in chosen.values() if fingerprint in c.roots}
                if pinned:
                    (revision,) = pinned
                    if revision not in ids:
                        return None
                    result[fingerprint] = revision
                elif ids:
                    result[fingerprint] = ids[0]
            return result
        dependency = conflict
        positions[dependency] += 1
        if positions[dependency] >= len(candidates[dependency]):
            return None
    return None


def _newest_conflict(chosen: Mapping[str, Candidate]) -> str | None:
    """The dependency holding the newest revision of a root the others disagree on."""
    by_root: dict[str, dict[str, int]] = {}
    for dependency, candidate in chosen.items():
        for fingerprint, modification_id in candidate.roots.items():
            by_root.setdefault(fingerprint, {})[dependency] = modification_id
    worst: tuple[int, str] | None = None
    for revisions in by_root.values():
        if len(set(revisions.values())) > 1:
            newest = max(revisions.items(), key=lambda item: item[1])
            if worst is None or newest[1] > worst[0]:
                worst = (newest[1], newest[0])
    return worst[1] if worst else None
