"""A tiny sweep program: reads --x=.. --y=.. (W&B agent style) and prints {"score": ...} as a JSON line."""

import json
import sys

args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:] if "=" in a)
x, y = float(args["x"]), float(args["y"])
print(json.dumps({"score": -((x - 2) ** 2) - (y - 1) ** 2, "x": x, "y": y}))
