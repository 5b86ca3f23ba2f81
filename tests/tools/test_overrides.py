"""Dotted-path overrides of frozen pydantic configs."""

import pytest
from pydantic import BaseModel, ConfigDict, Field

from metta.common.errors import ConfigError
from metta.tools.overrides import apply_overrides, overridden_values, parse_assignment


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    lr: float = Field(0.1, gt=0)
    name: str = "a"
    opt: int | None = None


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    inner: Inner = Field(default_factory=Inner)
    flag: bool = False
    tags: list[str] = Field(default_factory=list)


def test_values_are_parsed_and_validated():
    o = apply_overrides(Outer(), ["inner.lr=0.5", "flag=true", "tags=[a, b]", "inner.opt=null", "inner.name=007"])
    assert o.inner.lr == 0.5 and o.flag is True and o.tags == ["a", "b"] and o.inner.opt is None
    assert o.inner.name == "007"  # a string field keeps the raw text
    assert Outer().inner.lr == 0.1  # the original is untouched (frozen)


def test_mapping_form():
    assert apply_overrides(Outer(), {"inner.opt": 3}).inner.opt == 3


def test_unknown_path_names_the_path_and_valid_keys():
    with pytest.raises(ConfigError, match=r"'inner.lrr'.*inner has no key 'lrr'; valid keys: lr, name, opt"):
        apply_overrides(Outer(), ["inner.lrr=1"])
    with pytest.raises(ConfigError, match="flag is False, not a mapping"):
        apply_overrides(Outer(), ["flag.x=1"])


def test_wrong_type_or_bound_names_the_path():
    with pytest.raises(ConfigError, match=r"inner.lr.*greater than 0"):
        apply_overrides(Outer(), ["inner.lr=-1"])
    with pytest.raises(ConfigError, match=r"overrides \[inner.opt=abc\] are invalid: inner.opt"):
        apply_overrides(Outer(), ["inner.opt=abc"])


def test_malformed_assignment():
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignment("noequals")
    with pytest.raises(ConfigError, match="empty key"):
        parse_assignment("a..b=1")


class Sized(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    batch: int = 8
    mini: int = 4
    items: tuple[Inner, ...] = (Inner(), Inner())

    def model_post_init(self, __context):
        if self.mini > self.batch:
            raise ValueError(f"mini {self.mini} > batch {self.batch}")


def test_related_values_change_together_and_list_items_by_index():
    s = apply_overrides(Sized(), ["batch=2", "mini=1", "items.1.lr=0.7"])
    assert (s.batch, s.mini) == (2, 1)
    assert s.items[1].lr == 0.7 and s.items[0].lr == 0.1 and isinstance(s.items, tuple)
    with pytest.raises(ConfigError, match="list of 2; use an index 0..1"):
        apply_overrides(Sized(), ["items.2.lr=1"])
    with pytest.raises(ConfigError, match="mini 4 > batch 2"):
        apply_overrides(Sized(), ["batch=2"])


def test_overridden_values_returns_only_the_set_fields_validated() -> None:
    from metta.sweep.optim.config import ProteinSettings

    got = overridden_values(ProteinSettings(), ["num_random_samples=10", "acquisition=ucb"])
    assert got == {"num_random_samples": 10, "acquisition": "ucb"}  # no defaults of the other fields come along
    with pytest.raises(ConfigError, match="valid keys: acquisition"):
        overridden_values(ProteinSettings(), ["no_such_setting=1"])
    with pytest.raises(ConfigError, match="greater than or equal to 0"):
        overridden_values(ProteinSettings(), ["num_random_samples=-1"])
