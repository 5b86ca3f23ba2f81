"""The shared helpers of metta/common: config base, validation messages, override quoting, device, W&B mode."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf
from pydantic import Field, ValidationError

from metta.common.config_base import FrozenConfig, format_validation_error, validate_model
from metta.common.device import cuda_present, resolve_device, resolve_hardware
from metta.common.errors import ConfigError
from metta.common.overrides import flatten, format_override, hydra_value, to_overrides
from metta.common.wandb_auth import choose_wandb_mode, wandb_credentials_present


class _Inner(FrozenConfig):
    rate: float = Field(0.5, gt=0.0, description="A rate.")


class _Outer(FrozenConfig):
    name: str = Field("x", description="A name.")
    inner: _Inner = Field(default_factory=_Inner, description="Nested.")


def test_frozen_config_rejects_unknown_keys_and_mutation():
    with pytest.raises(ValidationError):
        _Outer.model_validate({"nmae": "typo"})
    cfg = _Outer()
    with pytest.raises(ValidationError):
        cfg.name = "other"  # type: ignore[misc]


def test_validation_message_names_the_path_the_problem_and_the_value():
    with pytest.raises(ConfigError) as info:
        validate_model(_Outer, {"inner": {"rate": -2.0}, "bogus": 1}, "demo", prefix="top.")
    msg = str(info.value)
    assert msg.startswith("invalid demo config: ")
    assert "top.inner.rate = -2.0: Input should be greater than 0" in msg
    assert "top.bogus = 1: Extra inputs are not permitted" in msg


def test_validation_message_truncates_long_values():
    try:
        _Inner.model_validate({"rate": "x" * 500})
    except ValidationError as exc:
        msg = format_validation_error(exc)
    assert "..." in msg and len(msg) < 200


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (3, "3"),
        (1e-3, "0.001"),
        ("adam", "adam"),
        ("/env/mettagrid/arena/basic", "/env/mettagrid/arena/basic"),
        ("true", "'true'"),
        ("1e-3", "'1e-3'"),
        ("it's", "'it\\'s'"),
        ([1, "a b"], "[1,'a b']"),
        ({"k": 1.5}, "{k:1.5}"),
    ],
)
def test_hydra_value_round_trips_through_hydra_parsing(value, text):
    assert hydra_value(value) == text
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_override(f"key={text}").value()
    plain = OmegaConf.to_container(OmegaConf.create({"v": parsed}))["v"] if isinstance(parsed, (list, dict)) else parsed
    assert plain == value


def test_non_finite_values_are_refused():
    with pytest.raises(ConfigError, match="non-finite"):
        hydra_value(float("nan"))


def test_overrides_flatten_nested_trees_with_the_chosen_mode():
    assert flatten({"a": {"b": 1, "c": {}}, "d": 2}) == {"a.b": 1, "d": 2}
    assert to_overrides({"game": {"max_steps": 5, "desync_episodes": False}, "x": None}, mode="") == [
        "game.max_steps=5",
        "game.desync_episodes=false",
        "x=null",
    ]
    assert format_override("trainer.ppo.gamma", 0.9) == "++trainer.ppo.gamma=0.9"
    with pytest.raises(ConfigError, match="override mode"):
        format_override("a", 1, mode="+++")


def test_device_and_hardware_follow_one_rule(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert cuda_present() is False
    assert resolve_hardware("auto") == "cpu"
    assert resolve_hardware("gpu") == "gpu"
    with pytest.raises(ConfigError, match="unknown hardware profile 'tpu'"):
        resolve_hardware("tpu")
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_wandb_mode_honours_wandb_mode_then_credentials(tmp_path):
    no_netrc = {"NETRC": str(tmp_path / "missing")}
    assert choose_wandb_mode("auto", {**no_netrc, "WANDB_MODE": "disabled"}) == ("disabled", None)
    assert choose_wandb_mode("auto", {**no_netrc, "WANDB_MODE": "offline", "WANDB_API_KEY": "k"}) == ("offline", None)
    assert choose_wandb_mode("auto", {**no_netrc, "WANDB_API_KEY": "k"}) == ("online", None)
    mode, notice = choose_wandb_mode("auto", no_netrc)
    assert mode == "offline" and notice and "wandb login" in notice
    assert choose_wandb_mode("disabled", {"WANDB_MODE": "online"}) == ("disabled", None)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai login user password secret\n")
    netrc.chmod(0o600)
    assert wandb_credentials_present({"NETRC": str(netrc)}) is True
    assert wandb_credentials_present({"NETRC": str(netrc), "WANDB_BASE_URL": "https://other.example"}) is False


def test_backoff_delays_double_to_the_cap_and_stop_at_the_budget(monkeypatch) -> None:
    import metta.common.retry as retry

    now = [100.0]
    monkeypatch.setattr(retry.time, "monotonic", lambda: now[0])
    slept = []
    for delay in retry.backoff_delays(30.0):
        slept.append(delay)
        now[0] += delay + 0.1  # the sleep plus the failed attempt
    assert slept == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]  # the next 8 s would end past 100 + 30
    assert list(retry.backoff_delays(0.1)) == []
