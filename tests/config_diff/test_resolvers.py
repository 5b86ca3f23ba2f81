"""The safe stand-ins for legacy resolvers: closed-form values, and the registry restored afterwards."""

from omegaconf import OmegaConf

from metta.config_diff.resolvers import NOW_MARKER, safe_resolvers


def resolve(expr: str, **extra):
    cfg = OmegaConf.create({"v": expr, **extra})
    with safe_resolvers():
        return OmegaConf.to_container(cfg, resolve=True)["v"]


def test_arithmetic():
    assert resolve("${div:10,4}") == 2.5
    assert resolve("${div:12,4}") == 3 and isinstance(resolve("${div:12,4}"), int)
    assert resolve("${sub:10,4}") == 6
    assert resolve("${mul:3,0.5}") == 1.5
    assert resolve("${add:${x},1}", x=41) == 42
    assert resolve("${int:${div:9,2}}") == 4
    assert resolve("${clamp:15,0,10}") == 10 and resolve("${clamp:-1,0,10}") == 0


def test_logic_time_sampling_env(monkeypatch):
    assert resolve("${if:${eq:${d},cpu},1,2}", d="cpu") == 1
    assert resolve("${if:${eq:${d},cpu},1,2}", d="cuda") == 2
    assert resolve("${now:%Y-%m-%d}") == NOW_MARKER
    assert resolve("${sampling:0.1,0.9,0.5}") == 0.5
    monkeypatch.delenv("METTA_TEST_UNSET", raising=False)
    assert resolve("${oc.env:METTA_TEST_UNSET}") == "<env:METTA_TEST_UNSET>"
    assert resolve("${oc.env:METTA_TEST_UNSET,fallback}") == "fallback"
    monkeypatch.setenv("METTA_TEST_SET", "yes")
    assert resolve("${oc.env:METTA_TEST_SET}") == "yes"


def test_registry_is_restored():
    before = OmegaConf.has_resolver("div"), OmegaConf.has_resolver("oc.env")
    resolve("${div:1,1}")
    assert (OmegaConf.has_resolver("div"), OmegaConf.has_resolver("oc.env")) == before == (False, True)
