"""MTCNN (Zhang et al. 2016): a three-stage cascade of small CNNs, with the weights facenet-pytorch ships.

Why a port and not ``facenet_pytorch.MTCNN``: the package pins torch<2.3,
numpy<2 and pillow<10.3, so it is installed with ``--no-deps`` only for its
weights (``facenet_pytorch/data/{p,r,o}net.pt``, MIT), and importing it pulls
``requests`` and loads the weights with a bare ``torch.load``. Here the
package's folder is only located on sys.path (``ahrec.models.package_folder``
runs none of its code), each file is read with
``torch.load(weights_only=True)`` (plain tensors, no code can run) into
networks defined below with the same layer names, and the
cascade follows facenet-pytorch's ``detect_face`` (MIT): P-Net proposals over
an image pyramid, R-Net and O-Net refinement, box regression and NMS.
The O-Net face probability is each box's confidence.

The network definitions and cascade follow facenet-pytorch
(github.com/timesler/facenet-pytorch, MIT License, Copyright (c) 2019 Timothy
Esler), itself a port of the authors' MTCNN; its MIT notice applies to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn.functional import interpolate
from torchvision.ops import batched_nms

from ahrec.errors import ModelLoadError

PACKAGE = "facenet_pytorch"
INSTALL = "pip install --no-deps facenet-pytorch==2.6.0 (requirements-nodeps.txt)"


class PNet(nn.Module):
    """Proposal network: fully convolutional, one 12x12 window per output cell."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.prelu1(self.conv1(x))
        x = self.prelu2(self.conv2(self.pool1(x)))
        x = self.prelu3(self.conv3(x))
        return self.conv4_2(x), torch.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    """Refinement network on 24x24 crops."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = x.permute(0, 3, 2, 1).contiguous()  # the original's (Caffe) flattening order
        x = self.prelu4(self.dense4(x.view(x.shape[0], -1)))
        return self.dense5_2(x), torch.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    """Output network on 48x48 crops: final probability, box and five landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu5(self.dense5(x.view(x.shape[0], -1)))
        return self.dense6_2(x), torch.softmax(self.dense6_1(x), dim=1)


def weights_dir() -> Path:
    """facenet-pytorch's data folder, found on sys.path without importing (running) the package."""
    from ahrec.models import package_folder

    try:
        return package_folder(f"package:{PACKAGE}/data")
    except ModelLoadError as exc:
        raise ModelLoadError(f"MTCNN weights: {exc}; {INSTALL}") from exc


def load_net(net: nn.Module, path: Path) -> nn.Module:
    """Weights as plain tensors (``weights_only=True``: a file cannot run code)."""
    if not path.is_file():
        raise ModelLoadError(f"MTCNN weights not found: {path}; {INSTALL}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except Exception as exc:  # a truncated or foreign file: one clear error
        raise ModelLoadError(f"could not load MTCNN weights {path}: {exc}") from exc
    return net.eval()


def _resample(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return interpolate(images, size=size, mode="area")


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes grown to squares about their centre (the next stage's input is square)."""
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    side = torch.maximum(w, h)
    boxes = boxes.clone()
    boxes[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    boxes[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _regress(boxes: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out = boxes.clone()
    out[:, 0] = boxes[:, 0] + reg[:, 0] * w
    out[:, 1] = boxes[:, 1] + reg[:, 1] * h
    out[:, 2] = boxes[:, 2] + reg[:, 2] * w
    out[:, 3] = boxes[:, 3] + reg[:, 3] * h
    return out


def _crops(
    frames: np.ndarray, boxes: torch.Tensor, owners: torch.Tensor, size: int
) -> torch.Tensor:
    """Each box's pixels (clipped to its frame) resized to size x size, normalised.

    OpenCV's area resampling on the uint8 frames: the same averaging as
    facenet-pytorch's ``interpolate(mode="area")``, without a tensor call per box
    (hundreds of proposals per frame made that most of the time).
    """
    height, width = frames.shape[1:3]
    b = boxes[:, :4].trunc().int().cpu().numpy()
    x0 = np.maximum(b[:, 0], 1)
    y0 = np.maximum(b[:, 1], 1)
    x1 = np.minimum(b[:, 2], width)
    y1 = np.minimum(b[:, 3], height)
    owner = owners.cpu().numpy()
    crops = np.zeros((len(b), size, size, 3), np.float32)
    for k in range(len(b)):
        region = frames[owner[k], y0[k] - 1 : y1[k], x0[k] - 1 : x1[k]]
        if region.size:  # a box wholly outside its frame stays a blank crop
            crops[k] = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)
    tensor = torch.from_numpy(crops).permute(0, 3, 1, 2).to(boxes.device)
    return (tensor - 127.5) * 0.0078125


def _nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """NMS by overlap over the smaller box (the last stage: nested boxes are one face)."""
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    order = list(np.argsort(scores)[::-1])
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = np.array(order, dtype=int)
        if not len(rest):
            break
        w = np.maximum(
            0.0,
            np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]) + 1,
        )
        h = np.maximum(
            0.0,
            np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]) + 1,
        )
        overlap = w * h / np.minimum(area[i], area[rest])
        order = [int(j) for j, o in zip(rest, overlap, strict=True) if o <= threshold]
    return keep


class Mtcnn:
    """The three networks and the cascade; ``detect`` takes equal-sized RGB frames."""

    def __init__(
        self,
        min_face_size: int = 20,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        device: str = "cpu",
        folder: Path | None = None,
    ) -> None:
        folder = folder or weights_dir()
        self.device = torch.device(device)
        self.pnet = load_net(PNet(), folder / "pnet.pt").to(self.device)
        self.rnet = load_net(RNet(), folder / "rnet.pt").to(self.device)
        self.onet = load_net(ONet(), folder / "onet.pt").to(self.device)
        self.min_face_size = min_face_size
        self.thresholds = tuple(thresholds)
        self.factor = factor

    @torch.inference_mode()
    def detect(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per frame an (n, 5) array: x0, y0, x1, y1 (pixels), O-Net face probability."""
        if not len(frames):
            return []
        stacked = np.ascontiguousarray(np.stack(frames))
        images = torch.as_tensor(stacked, device=self.device).permute(0, 3, 1, 2).float()
        n, height, width = images.shape[0], images.shape[2], images.shape[3]
        empty = [np.zeros((0, 5), np.float32) for _ in range(n)]

        # Stage 1: P-Net over a pyramid whose smallest window is min_face_size pixels.
        scale = 12.0 / self.min_face_size
        side = min(height, width) * scale
        proposals, owners = [], []
        while side >= 12:
            scaled = _resample(images, (int(height * scale + 1), int(width * scale + 1)))
            reg, probs = self.pnet((scaled - 127.5) * 0.0078125)
            found, found_owner = _windows(reg, probs[:, 1], scale, self.thresholds[0])
            keep = batched_nms(found[:, :4], found[:, 4], found_owner, 0.5)
            proposals.append(found[keep])
            owners.append(found_owner[keep])
            scale *= self.factor
            side *= self.factor
        if not proposals:
            return empty
        boxes, owner = torch.cat(proposals), torch.cat(owners)
        keep = batched_nms(boxes[:, :4], boxes[:, 4], owner, 0.7)
        boxes, owner = boxes[keep], owner[keep]
        if not len(boxes):
            return empty
        boxes = torch.cat([_regress(boxes[:, :4], boxes[:, 5:9]), boxes[:, 4:5]], dim=1)
        boxes = _square(boxes)

        # Stage 2: R-Net on 24x24 crops.
        reg, probs = self.rnet(_crops(stacked, boxes, owner, 24))
        passed = probs[:, 1] > self.thresholds[1]
        boxes = torch.cat([boxes[passed, :4], probs[passed, 1:2]], dim=1)
        owner, reg = owner[passed], reg[passed]
        keep = batched_nms(boxes[:, :4], boxes[:, 4], owner, 0.7)
        boxes, owner, reg = boxes[keep], owner[keep], reg[keep]
        if not len(boxes):
            return empty
        boxes = _square(torch.cat([_regress(boxes[:, :4], reg), boxes[:, 4:5]], dim=1))

        # Stage 3: O-Net on 48x48 crops; its probability is the confidence.
        reg, probs = self.onet(_crops(stacked, boxes, owner, 48))
        passed = probs[:, 1] > self.thresholds[2]
        boxes = torch.cat([_regress(boxes[passed, :4], reg[passed]), probs[passed, 1:2]], dim=1)
        owner = owner[passed]
        out = boxes.cpu().numpy().astype(np.float32)
        owner_np = owner.cpu().numpy()
        results = []
        for index in range(n):
            mine = out[owner_np == index]
            results.append(mine[_nms_min(mine[:, :4], mine[:, 4], 0.7)] if len(mine) else mine)
        return results


def _windows(
    reg: torch.Tensor, probs: torch.Tensor, scale: float, threshold: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """P-Net cells above threshold as boxes in image pixels, with score and regression."""
    stride, cell = 2, 12
    reg = reg.permute(1, 0, 2, 3)
    mask = probs >= threshold
    where = mask.nonzero()
    owner = where[:, 0]
    score = probs[mask]
    reg = reg[:, mask].permute(1, 0)
    corner = where[:, 1:].type(reg.dtype).flip(1)
    q1 = ((stride * corner + 1) / scale).floor()
    q2 = ((stride * corner + cell) / scale).floor()
    return torch.cat([q1, q2, score.unsqueeze(1), reg], dim=1), owner
