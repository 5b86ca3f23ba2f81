"""Optional multi-process data parallelism (torchrun): every rank steps its own envs; gradients are averaged.

``DistContext.from_env()`` reads WORLD_SIZE/RANK/LOCAL_RANK (set by torchrun). With one process it is inert.
Rank 0 alone writes checkpoints, metrics and the run's result files; all ranks resume from the same checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device_type: str = "cpu") -> DistContext:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        import torch.distributed as tdist

        if not tdist.is_initialized():
            tdist.init_process_group("nccl" if device_type == "cuda" else "gloo")
        return cls(tdist.get_rank(), tdist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))

    def broadcast_parameters(self, module: torch.nn.Module) -> None:
        """Make every rank start from rank 0's weights."""
        if self.world_size <= 1:
            return
        import torch.distributed as tdist

        for p in module.state_dict().values():
            tdist.broadcast(p, src=0)

    def sync_gradients(self, module: torch.nn.Module, finite: bool) -> bool:
        """Average gradients over ranks in one all-reduce; returns False if any rank had a non-finite loss."""
        import torch.distributed as tdist

        params = [p for p in module.parameters() if p.requires_grad]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flag = torch.tensor([0.0 if finite else 1.0], device=params[0].device)
        flat = torch.cat([g.reshape(-1) for g in grads] + [flag])
        if not finite:
            flat.zero_()
            flat[-1] = 1.0
        tdist.all_reduce(flat)
        if float(flat[-1]) > 0:
            return False
        flat /= self.world_size
        offset = 0
        for p, g in zip(params, grads, strict=True):
            n = g.numel()
            p.grad = flat[offset : offset + n].view_as(p).clone()
            offset += n
        return True

    def mean_scalar(self, value: float) -> float:
        import torch.distributed as tdist

        t = torch.tensor([float(value)], dtype=torch.float64)
        tdist.all_reduce(t)
        return float(t[0]) / self.world_size

    def barrier(self) -> None:
        if self.world_size > 1:
            import torch.distributed as tdist

            tdist.barrier()

    def shutdown(self) -> None:
        if self.world_size > 1:
            import torch.distributed as tdist

            if tdist.is_initialized():
                tdist.destroy_process_group()
