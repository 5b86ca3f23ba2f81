"""Each semantic normalisation rule on hand-built trees: what it treats as equal, and what it must not hide."""

import pytest

from metta.config_diff.diff import diff
from metta.config_diff.normalize import detect_dialect, load_normalize_rules, normalize
from metta.config_diff.rules import load_mapping, load_rules
from metta.config_diff.tree import flatten, unflatten

RULES, TABLE, NORM = load_rules(), load_mapping(), load_normalize_rules()
SCHED = "trainer.hyperparameter_scheduler"


def norm(tree, dialect="ours"):
    flat, _ = normalize(flatten(tree), dialect, NORM)
    return unflatten(flat)


def trainer(scheduler, **ppo):
    return {
        "trainer": {
            "optimizer": {"learning_rate": 0.000457},
            "ppo": {"clip_coef": 0.1, "ent_coef": 0.0021, "l2_reg_loss_coef": 0.0, **ppo},
            "hyperparameter_scheduler": scheduler,
        }
    }


def paths(diffs):
    return {d.path: d for d in diffs}


def test_rule_set_is_versioned():
    assert NORM.version >= 1


def test_initial_value_null_is_the_base_coefficient():
    legacy = trainer({"learning_rate_schedule": {"type": "cosine", "initial_value": 0.000457, "min_value": 3e-5}})
    ours = trainer(
        {"learning_rate_schedule": {"type": "cosine", "initial_value": None, "min_value": 3e-5, "decay_rate": 0.1}}
    )
    d = diff(legacy, ours, TABLE, RULES, dialects=("legacy", "ours"))
    # equal values; only the caveat that the Hydra-era trainer did not run schedules remains
    assert [(x.path, x.kind, x.severity) for x in d] == [(SCHED, "behaviour", "major")]
    assert diff(legacy, ours, TABLE, RULES) == []
    # a different initial value is still a critical difference
    other = trainer({"learning_rate_schedule": {"type": "cosine", "initial_value": 0.001, "min_value": 3e-5}})
    d = paths(diff(other, ours, TABLE, RULES, dialects=("legacy", "ours")))
    assert d[f"{SCHED}.learning_rate_schedule.initial_value"].severity == "critical"


def test_constant_schedule_at_its_base_is_no_schedule_but_one_off_base_is_kept():
    at_base = trainer({"ppo_l2_reg_loss_schedule": {"type": "constant", "initial_value": 0}})
    assert norm(at_base)["trainer"]["hyperparameter_scheduler"] == {}
    assert diff(at_base, trainer({}), TABLE, RULES) == []
    off_base = trainer({"ppo_l2_reg_loss_schedule": {"type": "constant", "initial_value": 0.5}})
    d = diff(off_base, trainer({}), TABLE, RULES)
    assert [(x.path, x.kind, x.severity) for x in d] == [(f"{SCHED}.ppo_l2_reg_loss_schedule", "missing", "critical")]


def test_a_flat_schedule_at_its_base_is_no_schedule():
    flat_linear = trainer({"ppo_ent_coef_schedule": {"type": "linear", "initial_value": None, "min_value": 0.0021}})
    assert diff(flat_linear, trainer({}), TABLE, RULES) == []


def test_parameters_a_schedule_type_ignores_are_dropped():
    cos = norm(trainer({"learning_rate_schedule": {"type": "cosine", "min_value": 3e-5, "decay_rate": 0.7}}))
    assert "decay_rate" not in cos["trainer"]["hyperparameter_scheduler"]["learning_rate_schedule"]
    log = norm(trainer({"ppo_clip_schedule": {"type": "logarithmic", "min_value": 0.05, "decay_rate": 0.7}}))
    assert log["trainer"]["hyperparameter_scheduler"]["ppo_clip_schedule"]["decay_rate"] == 0.7


def test_min_value_null_follows_each_dialect():
    tree = trainer({"ppo_clip_schedule": {"type": "linear", "initial_value": None, "min_value": None}})
    legacy = norm(tree, "legacy")["trainer"]["hyperparameter_scheduler"]["ppo_clip_schedule"]
    assert legacy["min_value"] == pytest.approx(0.01)  # the Hydra-era BaseSchedule used 0.1 x initial
    assert "ppo_clip_schedule" not in norm(tree, "ours")["trainer"]["hyperparameter_scheduler"]  # ours: flat


def test_a_null_schedule_is_no_schedule():
    sched = {"type": "linear", "min_value": 0.0}
    d = diff(trainer({"ppo_ent_coef_schedule": sched}), trainer({"ppo_ent_coef_schedule": None}), TABLE, RULES)
    assert [(x.path, x.kind, x.severity) for x in d] == [(f"{SCHED}.ppo_ent_coef_schedule", "missing", "critical")]


def test_number_written_as_a_string_equals_the_float_but_words_stay_strings():
    assert (
        diff({"trainer": {"optimizer": {"eps": "1e-12"}}}, {"trainer": {"optimizer": {"eps": 1e-12}}}, TABLE, RULES)
        == []
    )
    assert norm({"run": "1234", "x": "abc"}) == {"run": "1234", "x": "abc"}
    d = diff({"trainer": {"optimizer": {"eps": "1e-3"}}}, {"trainer": {"optimizer": {"eps": 1e-12}}}, TABLE, RULES)
    assert d[0].severity == "critical" and d[0].kind == "changed"


def test_agent_string_is_the_block_with_the_legacy_sizes():
    ours = {"agent": dict(NORM.legacy_agents["fast"])}
    assert diff({"agent": "fast"}, ours, TABLE, RULES, dialects=("legacy", "ours")) == []
    bigger = {"agent": {**NORM.legacy_agents["fast"], "hidden_size": 256}}
    d = diff({"agent": "fast"}, bigger, TABLE, RULES, dialects=("legacy", "ours"))
    assert [(x.path, x.left, x.right) for x in d] == [("agent.hidden_size", 128, 256)]


def test_legacy_null_intervals_mean_the_trainers_derived_values():
    tree = {
        "cmd": "train",
        "trainer": {
            "checkpoint": {"checkpoint_interval": 50, "wandb_checkpoint_interval": None},
            "simulation": {"evaluate_interval": None},
        },
    }
    out = norm(tree, "legacy")["trainer"]
    assert out["checkpoint"]["wandb_checkpoint_interval"] == 50 and out["simulation"]["evaluate_interval"] == 50


def test_objects_the_map_never_places_and_fields_walls_never_read_are_dropped():
    game = {
        "map": {"objects": {"altar": 1, "wall": 2}, "layout": None, "legend": {"#": "wall"}},
        "objects": {
            "altar": {"output_resources": {"heart": 1}, "cooldown": 10},
            "lasery": {"output_resources": {"laser": 1}, "cooldown": 3},
            "wall": {"type_id": 1, "cooldown": 0, "input_resources": {}},
        },
    }
    out = norm({"env": {"game": game}})["env"]["game"]
    assert set(out["objects"]) == {"altar", "wall"}
    assert out["objects"]["wall"] == {"type_id": 1, "swappable": False}  # the schema default, written out
    assert out["map"] == {"objects": {"altar": 1, "wall": 2}}
    assert out["objects"]["altar"]["cooldown"] == 10  # a converter keeps its settings


def test_eval_suite_settings_are_compared_per_simulation_and_lists_equal_mappings():
    hydra = {
        "sim": {
            "name": "s",
            "num_episodes": 2,
            "simulations": {"a": {"env": "/env/x"}, "b": {"env": "env/y", "num_episodes": 5}},
        }
    }
    recipe = {
        "suite": {
            "name": "s",
            "simulations": [
                {"name": "a", "env": "env/x", "num_episodes": 2},
                {"name": "b", "env": "/env/y", "num_episodes": 5},
            ],
        }
    }
    assert diff(hydra, recipe, TABLE, RULES, job="sim_job") == []


def test_dialect_detection():
    assert detect_dialect({"cmd": "train"}) == "legacy"
    assert detect_dialect({"agent": "fast"}) == "legacy"
    assert detect_dialect({"agent": {"name": "fast"}, "system": {}}) == "ours"
