"""Which face box of each frame is the person: one track over the video's frames.

Keeping the largest box of each frame lets one false box (a shoulder, a
crowd, a rock) win a frame by size alone. Instead the boxes a video's frames
offer are linked into one chain, best by the sum of the confidences of the
boxes it keeps plus a continuity term between consecutive kept boxes
(rewarding a box near the previous one, penalising a jump); a frame may keep
no box, so a box that contradicts the track on both sides is left out when
that scores better. The chain is the longest path of a DAG over the boxes
(frames in order), solved exactly by dynamic programming (a Viterbi track
that may skip frames). Only the video's own frames are looked at.

Frames left without a box then get the track's box interpolated between its
neighbours (held at the ends): the person is still there, and a crop of the
place the face was is closer to a face than the whole frame is. They are
marked as interpolated and not counted as detections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height in pixels


class Candidate(NamedTuple):
    """A detector's box with its confidence (0..1; higher is surer)."""

    box: Box
    score: float


# Candidates kept per frame before linking: enough for a crowd, bounded for
# detectors that return hundreds of low-confidence boxes.
MAX_PER_FRAME = 8


def similarity(a: Box, b: Box) -> float:
    """How much two boxes look like one face moved: 1 same place and size, 0 far apart.

    Centre distance relative to the boxes' mean side, times their size ratio;
    unlike IoU it does not fall to zero for a small face that moved a little
    between frames sampled seconds apart.
    """
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    side = (aw + ah + bw + bh) / 4
    if side <= 0:
        return 0.0
    distance = np.hypot(ax + aw / 2 - bx - bw / 2, ay + ah / 2 - by - bh / 2)
    ratio = min(aw * ah, bw * bh) / max(aw * ah, bw * bh, 1)
    return float(max(0.0, 1.0 - distance / side) * np.sqrt(ratio))


def select_track(
    candidates: Sequence[Sequence[Candidate]], continuity: float = 0.5
) -> list[int | None]:
    """Per frame the index of its kept candidate, or None.

    The chain maximises ``sum(score) + continuity * sum(2 * similarity - 1)``
    over consecutive kept boxes: a kept box next to a similar one gains up to
    ``continuity``, a jump costs up to ``continuity``. With ``continuity`` below
    the smallest accepted score a lone box (nothing to contradict it) is always
    kept, and a frame's boxes are never all dropped when they agree with the
    track; a box that jumps away and back costs ``2 * continuity`` and loses to
    skipping its frame when its score is lower than that plus what the direct
    link would gain.
    """
    nodes: list[tuple[int, int, Candidate]] = []  # (frame, index in frame, candidate)
    for frame, found in enumerate(candidates):
        # surest first, then largest: on a tie the larger box is kept (the paper's rule)
        order = sorted(
            range(len(found)), key=lambda i: (-found[i].score, -found[i].box[2] * found[i].box[3])
        )[:MAX_PER_FRAME]
        nodes.extend((frame, i, found[i]) for i in order)
    chosen: list[int | None] = [None] * len(candidates)
    if not nodes:
        return chosen
    best = np.zeros(len(nodes))
    previous = np.full(len(nodes), -1)
    for k, (frame, _, candidate) in enumerate(nodes):
        best[k] = candidate.score
        for j in range(k):
            if nodes[j][0] >= frame:
                break
            linked = best[j] + continuity * (2 * similarity(nodes[j][2].box, candidate.box) - 1)
            if linked + candidate.score > best[k]:
                best[k], previous[k] = linked + candidate.score, j
    k = int(np.argmax(best))
    while k >= 0:
        chosen[nodes[k][0]] = nodes[k][1]
        k = int(previous[k])
    return chosen


def fill_gaps(boxes: Sequence[Box | None]) -> list[Box | None]:
    """Frames without a box get one interpolated between the nearest kept ones (held at the ends)."""
    known = [i for i, box in enumerate(boxes) if box is not None]
    if not known:
        return list(boxes)
    values = np.array([boxes[i] for i in known], float)
    frames = np.arange(len(boxes))
    filled = np.stack([np.interp(frames, known, values[:, c]) for c in range(4)], axis=1)
    return [
        box if box is not None else tuple(int(round(v)) for v in filled[i])  # type: ignore[misc]
        for i, box in enumerate(boxes)
    ]
