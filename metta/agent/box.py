"""Observation tokens → the policies' dense box input (torch), in the encoding of :func:`metta.env.tokens_to_box`.

The raw box has ``num_features + 1`` uint8 channels (feature values, then a presence flag); the network input is that
box times a per-channel scale (1 / the feature's divisor; 1 for presence). Differences from the Hydra-era box shaper,
made on purpose:
- the presence channel makes every object visible, including an agent of type 0 / group 0 / facing up with no items
  (all-zero in the Hydra-era box, indistinguishable from empty floor);
- padding and out-of-window tokens are dropped, not scattered into cell (0, 0) of channel 0;
- the result is deterministic (one write per valid token, in token order).
"""

from __future__ import annotations

import torch

from metta.env.obs import WINDOW
from metta.env.obs import feature_divisors as env_feature_divisors


def feature_divisors(num_features: int) -> torch.Tensor:
    """Divisor per feature id for ``num_features`` features, as a tensor (the env's table)."""
    return torch.from_numpy(env_feature_divisors(num_features))


def tokens_to_box_u8(obs: torch.Tensor, num_features: int) -> torch.Tensor:
    """uint8 tokens [N, T, 3] → raw uint8 box [N, num_features + 1, 11, 11] (values as-is; presence channel = 1).

    The result is a channels-last view of an [N, 11, 11, C] buffer (``box_hwc_u8``), the fast layout for the convs.
    Only valid tokens are scattered. Two tokens with the same feature at the same cell do not occur in env output;
    if they did, the later token would win.
    """
    return box_hwc_u8(obs, num_features).permute(0, 3, 1, 2)


def box_hwc_u8(obs: torch.Tensor, num_features: int) -> torch.Tensor:
    """uint8 tokens [N, T, 3] → contiguous uint8 [N, 11, 11, num_features + 1] (see tokens_to_box_u8)."""
    n = obs.shape[0]
    channels = num_features + 1
    b, t = torch.nonzero(obs[..., 0] != 255, as_tuple=True)
    tok = obs[b, t].long()
    loc, feat, val = tok[:, 0], tok[:, 1], tok[:, 2]
    row, col = loc >> 4, loc & 15
    ok = (feat < num_features) & (row < WINDOW) & (col < WINDOW)
    if not bool(ok.all()):
        b, feat, val, row, col = b[ok], feat[ok], val[ok], row[ok], col[ok]
    pos = (b * (WINDOW * WINDOW) + row * WINDOW + col) * channels
    box = torch.zeros(n * WINDOW * WINDOW * channels, dtype=torch.uint8, device=obs.device)
    box[pos + feat] = val.to(torch.uint8)
    box[pos + num_features] = 1
    return box.view(n, WINDOW, WINDOW, channels)


def box_scale(num_features: int) -> torch.Tensor:
    """Per-channel multiplier [num_features + 1, 1, 1] turning a raw box into the normalised one."""
    return torch.cat([1.0 / feature_divisors(num_features), torch.ones(1)]).view(-1, 1, 1)


def normalised_box(obs: torch.Tensor, num_features: int) -> torch.Tensor:
    """uint8 tokens [N, T, 3] → float32 box [N, num_features + 1, 11, 11] (normalised, with presence channel)."""
    return tokens_to_box_u8(obs, num_features).float() * box_scale(num_features).to(obs.device)
