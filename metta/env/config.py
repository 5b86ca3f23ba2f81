"""Typed, frozen environment configuration and the one place env YAML is resolved.

``load_env_config("arena/basic_easy_shaped")`` composes ``configs/env/mettagrid/arena/basic_easy_shaped.yaml``
through :func:`metta.common.config.compose` and validates it into :class:`EnvConfig`. Every cross-reference
(items, objects, actions, map counts) is checked here, so a bad config fails at load time naming key and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field, model_validator

from metta.common.config import compose, to_container
from metta.common.config_base import FrozenConfig, validate_model
from metta.common.errors import ConfigError, EnvConfigError

# Action types in the legacy (alphabetical) order, with their number of arguments.
ACTION_TYPES: tuple[str, ...] = ("attack", "get_items", "move", "noop", "put_items", "rotate", "swap")
ACTION_NUM_ARGS: tuple[int, ...] = (9, 1, 2, 1, 1, 4, 1)

# Bounds shared by map and observation sizes (in cells).
RoomSide = Annotated[int, Field(ge=1, le=250)]
WallThickness = Annotated[int, Field(ge=0, le=20)]
ObsSide = Annotated[int, Field(ge=11, le=11)]


class RewardsConfig(FrozenConfig):
    inventory: dict[str, float] = Field(default_factory=dict, description="Reward per unit held, by item name")
    inventory_max: dict[str, float] = Field(
        default_factory=dict, description="Cap on an item's total reward, by item name (absent = no cap)"
    )


class AgentConfig(FrozenConfig):
    default_resource_limit: int = Field(50, ge=0, le=255, description="Carry limit for items not in resource_limits")
    resource_limits: dict[str, int] = Field(default_factory=dict, description="Per-item carry limits (0..255)")
    freeze_duration: int = Field(10, ge=0, le=10_000, description="Steps an agent stays frozen after a hit")
    action_failure_penalty: float = Field(0.0, ge=0.0, le=100.0, description="Reward subtracted per failed action")
    initial_inventory: dict[str, int] = Field(default_factory=dict, description="Items every agent starts with")
    rewards: RewardsConfig = Field(default_factory=RewardsConfig, description="Shaped inventory rewards")


class ActionConfig(FrozenConfig):
    enabled: bool = Field(True, description="Disabled actions stay in the action space and always fail")


class AttackConfig(ActionConfig):
    consumed_resources: dict[str, int] = Field(default_factory=dict, description="Items required and spent per hit")
    defense_resources: dict[str, int] = Field(default_factory=dict, description="Items a target spends to block")


class ActionsConfig(FrozenConfig):
    noop: ActionConfig = Field(default_factory=ActionConfig, description="Do nothing")
    move: ActionConfig = Field(default_factory=ActionConfig, description="Step forward (arg 0) or back (arg 1)")
    rotate: ActionConfig = Field(default_factory=ActionConfig, description="Face up/down/left/right (arg 0-3)")
    put_items: ActionConfig = Field(default_factory=ActionConfig, description="Deposit recipe inputs in front")
    get_items: ActionConfig = Field(default_factory=ActionConfig, description="Take outputs of the converter in front")
    attack: AttackConfig = Field(default_factory=AttackConfig, description="Laser attack on 9 cells ahead")
    swap: ActionConfig = Field(default_factory=ActionConfig, description="Swap places with a swappable thing")


class ObjectConfig(FrozenConfig):
    type_id: int = Field(ge=1, le=255, description="Observed type id (0 is reserved for agents)")
    color: int = Field(0, ge=0, le=255, description="Observed colour")
    swappable: bool = Field(False, description="Agents can swap places with it (blocks)")
    input_resources: dict[str, int] = Field(default_factory=dict, description="Recipe inputs consumed per conversion")
    output_resources: dict[str, int] = Field(default_factory=dict, description="Recipe outputs; non-empty = converter")
    max_output: int = Field(
        5, ge=-1, le=255, description="No conversion starts while output stock >= this (-1 = no cap)"
    )
    conversion_ticks: int = Field(1, ge=1, le=100_000, description="Steps from conversion start to outputs")
    cooldown: int = Field(0, ge=0, le=100_000, description="Idle steps after a conversion")
    initial_resource_count: int = Field(0, ge=0, le=255, description="Initial stock of each output item")

    @property
    def is_converter(self) -> bool:
        return bool(self.output_resources)


class MapConfig(FrozenConfig):
    agents_per_room: int = Field(6, ge=1, le=1024, description="Agents placed in each room")
    room_width: RoomSide = Field(25, description="Room width in cells")
    room_height: RoomSide = Field(25, description="Room height in cells")
    room_border_width: WallThickness = Field(0, description="Wall thickness between rooms")
    border_width: WallThickness = Field(6, description="Outer wall thickness")
    objects: dict[str, int] = Field(default_factory=dict, description="Per-room object counts, name -> count")
    layout: tuple[str, ...] | None = Field(None, description="Explicit map rows (replaces random rooms)")
    legend: dict[str, str] = Field(default_factory=dict, description="Layout character -> object name")


class GameConfig(FrozenConfig):
    num_agents: int = Field(24, ge=1, le=4096, description="Agents per env (a multiple of map.agents_per_room)")
    obs_width: ObsSide = Field(11, description="Observation window width (fixed 11)")
    obs_height: ObsSide = Field(11, description="Observation window height (fixed 11)")
    num_observation_tokens: int = Field(200, ge=200, le=200, description="Tokens per observation (fixed 200)")
    max_steps: int = Field(1000, ge=1, le=1_000_000, description="Episode length (a terminal, not a truncation)")
    desync_episodes: bool = Field(True, description="First episode of each env lasts U{1..max_steps} steps")
    inventory_item_names: tuple[str, ...] = Field(description="Item names; their order gives the inv:<item> ids")
    agent: AgentConfig = Field(default_factory=AgentConfig, description="Agent inventory, freeze and rewards")
    actions: ActionsConfig = Field(default_factory=ActionsConfig, description="Per-action settings")
    objects: dict[str, ObjectConfig] = Field(default_factory=dict, description="Object types by name")
    map: MapConfig = Field(default_factory=MapConfig, description="Map generation")

    @model_validator(mode="after")
    def _check_references(self) -> GameConfig:
        _validate_game(self)
        return self


class EnvConfig(FrozenConfig):
    label: str = Field("mettagrid", min_length=1, description="Short name reported with episode stats")
    game: GameConfig = Field(description="The game")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnvConfig:
        """Validate a plain dict (e.g. ``model_dump(mode="json")`` output or a resolved YAML tree)."""
        return validate_model(cls, data, "env", error=EnvConfigError)

    @property
    def num_agents(self) -> int:
        return self.game.num_agents


def _bad(key: str, value: Any, why: str) -> EnvConfigError:
    return EnvConfigError(f"{key} = {value!r}: {why}")


def _check_items(key: str, mapping: dict[str, Any], items: set[str], nonneg: bool = True) -> None:
    for name, amount in mapping.items():
        if name not in items:
            raise _bad(f"{key}.{name}", amount, f"unknown item {name!r}; known items: {sorted(items)}")
        if nonneg and amount < 0:
            raise _bad(f"{key}.{name}", amount, "must be >= 0")
        if isinstance(amount, int) and amount > 255:
            raise _bad(f"{key}.{name}", amount, "must be <= 255")


def _validate_game(g: GameConfig) -> None:
    items = set(g.inventory_item_names)
    if len(items) != len(g.inventory_item_names) or not items:
        raise _bad("game.inventory_item_names", list(g.inventory_item_names), "must be non-empty and unique")
    if len(items) > 256 - 15:
        raise _bad("game.inventory_item_names", len(items), "too many items for the token feature ids")
    a = g.agent
    _check_items("game.agent.resource_limits", a.resource_limits, items)
    _check_items("game.agent.initial_inventory", a.initial_inventory, items)
    _check_items("game.agent.rewards.inventory", a.rewards.inventory, items, nonneg=False)
    _check_items("game.agent.rewards.inventory_max", a.rewards.inventory_max, items)
    _check_items("game.actions.attack.consumed_resources", g.actions.attack.consumed_resources, items)
    _check_items("game.actions.attack.defense_resources", g.actions.attack.defense_resources, items)
    type_ids: dict[int, str] = {}
    for name, obj in g.objects.items():
        key = f"game.objects.{name}"
        if name in ("agent", "empty"):
            raise _bad(key, name, "reserved object name")
        if obj.type_id in type_ids:
            raise _bad(f"{key}.type_id", obj.type_id, f"already used by {type_ids[obj.type_id]!r}")
        type_ids[obj.type_id] = name
        _check_items(f"{key}.input_resources", obj.input_resources, items)
        _check_items(f"{key}.output_resources", obj.output_resources, items)
        if obj.input_resources and not obj.output_resources:
            raise _bad(f"{key}.output_resources", {}, "a converter with inputs needs outputs")
        if obj.swappable and obj.is_converter:
            raise _bad(f"{key}.swappable", True, "converters cannot be swappable")
    _validate_map(g)


def _validate_map(g: GameConfig) -> None:
    m = g.map
    for name, count in m.objects.items():
        if name not in g.objects:
            raise _bad(f"game.map.objects.{name}", count, f"unknown object; known objects: {sorted(g.objects)}")
        if count < 0:
            raise _bad(f"game.map.objects.{name}", count, "must be >= 0")
    for ch, name in m.legend.items():
        if len(ch) != 1 or ch in ".A ":
            raise _bad(f"game.map.legend.{ch}", name, "keys must be single characters other than '.', 'A', ' '")
        if name not in g.objects:
            raise _bad(f"game.map.legend.{ch}", name, f"unknown object; known objects: {sorted(g.objects)}")
    if m.layout is not None:
        _validate_layout(g)
        return
    if g.num_agents % m.agents_per_room:
        raise _bad("game.num_agents", g.num_agents, f"must be a multiple of map.agents_per_room={m.agents_per_room}")
    need = m.agents_per_room + sum(m.objects.values())
    cells = m.room_width * m.room_height
    if need > cells:
        raise _bad(
            "game.map.objects",
            dict(m.objects),
            f"{need} things (incl. {m.agents_per_room} agents) do not fit in a {m.room_width}x{m.room_height} room",
        )


def _validate_layout(g: GameConfig) -> None:
    rows = g.map.layout or ()
    if not rows or len({len(r) for r in rows}) != 1 or not rows[0]:
        raise _bad("game.map.layout", list(rows), "must be non-empty rows of equal length")
    n_agents = 0
    for r, row in enumerate(rows):
        for ch in row:
            if ch == "A":
                n_agents += 1
            elif ch not in ". " and ch not in g.map.legend:
                raise _bad(f"game.map.layout[{r}]", row, f"character {ch!r} is not in game.map.legend")
    if n_agents != g.num_agents:
        raise _bad("game.num_agents", g.num_agents, f"the layout has {n_agents} agents ('A')")


def _normalise_name(name: str) -> str:
    n = name.strip().lstrip("/")
    if n.endswith(".yaml"):
        n = n[: -len(".yaml")]
    if not n.startswith("env/"):
        n = "env/mettagrid/" + n
    return n


def _prefix_override(ov: str, package: str) -> str:
    prefix = ""
    body = ov
    while body[:1] in ("+", "~"):
        prefix += body[0]
        body = body[1:]
    if body.startswith(package + ".") or "=" not in body and body.startswith(package):
        return ov
    return f"{prefix}{package}.{body}"


def load_env_config(name: str, overrides: Sequence[str] = ()) -> EnvConfig:
    """Compose env YAML ``name`` (``"arena/basic"`` or ``"/env/mettagrid/arena/basic"``) with dotted overrides.

    Overrides are relative to the env config root, e.g. ``["game.max_steps=200"]``.
    """
    full = _normalise_name(name)
    group = full.rsplit("/", 1)[0]
    package = group.replace("/", ".")
    try:
        cfg = compose(full, [_prefix_override(o, package) for o in overrides])
    except ConfigError as exc:
        raise EnvConfigError(f"cannot load env config {name!r}: {exc}") from exc
    data = to_container(cfg)
    for part in package.split("."):
        data = data[part]
    return EnvConfig.from_dict(data)
