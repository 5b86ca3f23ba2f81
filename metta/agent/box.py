"""Observation tokens → normalised dense box (torch), with the legacy box traps fixed.

Tokens are uint8 ``(location, feature_id, value)`` with location = (row << 4) | col in the 11x11 window and
0xFF padding. The box has ``num_features + 1`` channels: channel f holds Σ value/divisor[f] of the valid tokens
with feature f at that cell, and the extra last channel is a presence flag (1 where any valid token sits).

Deliberate differences from legacy ``ObsTokenToBoxShaper`` (legacy-spec §7.5/§7.6):
- the presence channel makes every object visible, including an agent of type 0 / group 0 / facing Up with no items
  (all-zero in the legacy box, indistinguishable from empty floor);
- padding and out-of-window tokens are dropped, not scattered into cell (0, 0) of channel 0;
- the result is deterministic (one write per valid token, in token order).
"""

from __future__ import annotations

import torch

WINDOW = 11
# Legacy normalisation divisors by feature id (legacy-spec §1.9); 15..24 are inventory items (÷100).
FEATURE_DIVISORS: tuple[float, ...] = (
    1.0, 10.0, 30.0, 1.0, 1.0, 255.0, 1.0, 1.0, 255.0, 10.0, 10.0, 100.0, 255.0, 255.0, 1000.0,
) + (100.0,) * 10  # fmt: skip


def feature_divisors(num_features: int) -> torch.Tensor:
    """Divisor per feature id for ``num_features`` features (unknown extra features use 1)."""
    vals = list(FEATURE_DIVISORS[:num_features]) + [1.0] * max(0, num_features - len(FEATURE_DIVISORS))
    return torch.tensor(vals, dtype=torch.float32)


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


def tokens_to_box(obs: torch.Tensor, num_features: int) -> torch.Tensor:
    """uint8 tokens [N, T, 3] → float32 box [N, num_features + 1, 11, 11] (normalised, with presence channel)."""
    return tokens_to_box_u8(obs, num_features).float() * box_scale(num_features).to(obs.device)
