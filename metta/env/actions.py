"""Which actions can ever succeed in a set of env configs (for the opt-in mask of dead action logits)."""

from __future__ import annotations

from collections.abc import Sequence

from metta.env.config import EnvConfig, GameConfig


def _placed_objects(game: GameConfig) -> set[str]:
    m = game.map
    if m.layout is not None:
        return {m.legend[ch] for row in m.layout for ch in row if ch in m.legend}
    return {name for name, count in m.objects.items() if count > 0}


def obtainable_items(game: GameConfig) -> set[str]:
    """Items an agent can ever hold: its initial inventory and the outputs (or initial stock) of placed converters."""
    items = {it for it, n in game.agent.initial_inventory.items() if n > 0}
    for name in _placed_objects(game):
        items |= {it for it, n in game.objects[name].output_resources.items() if n > 0}
    return items


def attack_is_dead(cfgs: Sequence[EnvConfig]) -> bool:
    """True when attack can never succeed in any of ``cfgs``: it is disabled, or it consumes an item that no agent
    can obtain (the basic arenas place no lasery, so the 9 attack logits are dead weight there)."""
    for cfg in cfgs:
        attack = cfg.game.actions.attack
        needed = {it for it, n in attack.consumed_resources.items() if n > 0}
        if attack.enabled and needed <= obtainable_items(cfg.game):
            return False
    return True


def dead_action_mask(cfgs: Sequence[EnvConfig], action_names: Sequence[str]) -> list[bool]:
    """Allowed-action mask over the flat action names: False for the attack actions when attack is dead."""
    dead = attack_is_dead(cfgs)
    return [not (dead and name.startswith("attack_")) for name in action_names]
