"""A tiny sweep program logging a known function through real (offline) wandb: score = -(lr*1000 - 3)^2."""

import wandb

run = wandb.init(project="metta-test")
lr = float(run.config["lr"])
for step in range(3):
    wandb.log({"score": -((lr * 1000 - 3) ** 2) - (2 - step)})
run.finish()
