"""The pure diff: tolerance, log scale, kinds, mapping, severity (all on hand-built trees)."""

from metta.config_diff.diff import at_or_above, diff
from metta.config_diff.rules import MappingTable, load_mapping, load_rules

RULES = load_rules()
NO_MAP = MappingTable(version=1, aliases={})


def by_path(diffs):
    return {d.path: d for d in diffs}


def test_identical_trees_have_no_differences():
    tree = {"trainer": {"ppo": {"clip_coef": 0.1}, "batch_size": 8}, "run": "x", "tags": [1, 2]}
    assert diff(tree, tree, NO_MAP, RULES) == []


def test_int_and_float_of_equal_value_are_equal_but_bool_is_a_type_change():
    d = by_path(diff({"a": 1, "b": True}, {"a": 1.0, "b": 1}, NO_MAP, RULES))
    assert "a" not in d
    assert d["b"].kind == "type_changed"


def test_relative_tolerance():
    left = {"trainer": {"ppo": {"gamma": 0.977}}}
    assert diff(left, {"trainer": {"ppo": {"gamma": 0.977 * (1 + 1e-12)}}}, NO_MAP, RULES) == []
    d = diff(left, {"trainer": {"ppo": {"gamma": 0.978}}}, NO_MAP, RULES)
    assert [(x.path, x.kind, x.severity) for x in d] == [("trainer.ppo.gamma", "changed", "critical")]


def test_learning_rates_compare_on_log_scale_and_report_the_ratio():
    d = diff(
        {"trainer": {"optimizer": {"learning_rate": 1e-3}}},
        {"trainer": {"optimizer": {"learning_rate": 1e-4}}},
        NO_MAP,
        RULES,
    )
    assert len(d) == 1 and d[0].severity == "critical"
    assert "log10 -1.00" in d[0].note


def test_missing_added_and_unmapped_are_reported_never_dropped():
    d = by_path(diff({"only_left": 1, "x": {"y": 2}}, {"only_right": 3, "x": {"y": 2}}, NO_MAP, RULES))
    assert d["only_left"].kind == "missing" and not d["only_left"].mapped
    assert d["only_right"].kind == "added" and d["only_right"].right == 3
    assert len(d) == 2


def test_schedule_present_on_one_side_only_is_one_critical_difference():
    sched = {"type": "cosine", "initial_value": None, "min_value": 3e-5}
    left = {"trainer": {"hyperparameter_scheduler": {"learning_rate_schedule": sched}}}
    right = {"trainer": {"hyperparameter_scheduler": {"learning_rate_schedule": None}}}
    d = diff(left, right, NO_MAP, RULES)
    assert len(d) == 1
    assert d[0].path == "trainer.hyperparameter_scheduler.learning_rate_schedule"
    assert d[0].severity == "critical" and d[0].subsystem == "schedules"
    assert d[0].left == sched and d[0].right is None
    gone = diff(left, {"trainer": {"hyperparameter_scheduler": {}}}, NO_MAP, RULES)
    assert gone and all(x.severity == "critical" for x in gone)


def test_mapping_table_renames_legacy_paths():
    table = load_mapping()
    d = diff({"seed": 0, "device": "cpu"}, {"system": {"seed": 0, "device": "cpu"}}, table, RULES)
    assert d == []
    d = diff({"seed": 1}, {"system": {"seed": 2}}, table, RULES)
    assert [(x.path, x.left_path, x.right_path, x.mapped) for x in d] == [("system.seed", "seed", "system.seed", True)]
    assert d[0].severity == "critical" and d[0].subsystem == "random seeding"


def test_severity_levels_and_fail_on():
    d = diff(
        {"run": "a", "trainer": {"batch_size": 1}, "wandb": {"project": "p"}},
        {"run": "b", "trainer": {"batch_size": 2}, "wandb": {"project": "q"}},
        NO_MAP,
        RULES,
    )
    sev = {x.path: x.severity for x in d}
    assert sev == {"run": "minor", "trainer.batch_size": "critical", "wandb.project": "minor"}
    assert [x.path for x in at_or_above(d, "critical")] == ["trainer.batch_size"]
    assert len(at_or_above(d, "minor")) == 3 and at_or_above(d, "never") == []


def test_schema_default_inside_a_shared_block_is_downgraded_but_a_whole_block_is_not():
    left = {"trainer": {"ppo": {"gamma": 0.9}}}
    right = {"trainer": {"ppo": {"gamma": 0.9, "l2_reg_loss_coef": 0.0}}}
    d = diff(left, right, NO_MAP, RULES, frozenset({"trainer.ppo.l2_reg_loss_coef"}))
    assert [(x.path, x.severity) for x in d] == [("trainer.ppo.l2_reg_loss_coef", "major")]
    d = diff({}, right, NO_MAP, RULES, frozenset({"trainer.ppo.l2_reg_loss_coef", "trainer.ppo.gamma"}))
    assert {x.severity for x in d} == {"critical"}


def test_lists_compare_elementwise_with_tolerance():
    assert diff({"a": [1.0, 2.0]}, {"a": [1, 2]}, NO_MAP, RULES) == []
    d = diff({"a": [1, 2]}, {"a": [1, 2, 3]}, NO_MAP, RULES)
    assert d[0].kind == "changed" and "length" in d[0].note


def test_a_block_only_one_side_has_is_one_difference_with_its_worst_severity():
    right = {"env": {"game": {"max_steps": 1000, "agent": {"rewards": {"heart": 1.0}}}}, "x": 1}
    d = diff({"x": 1}, right, NO_MAP, RULES)
    assert len(d) == 1
    assert d[0].path == "env" and d[0].kind == "added"
    assert d[0].severity == "critical"  # it holds a reward
    # the block is shown whole (with the schema defaults both trees fill in written out)
    assert d[0].right["game"]["agent"]["rewards"] == {"heart": 1.0} and d[0].right["game"]["max_steps"] == 1000
    sched = {"type": "linear", "min_value": 0.0}
    d = diff(
        {"trainer": {"hyperparameter_scheduler": {"a_schedule": sched, "b": 1}}},
        {"trainer": {"hyperparameter_scheduler": {"b": 1}}},
        NO_MAP,
        RULES,
    )
    assert [(x.path, x.kind, x.left, x.severity) for x in d] == [
        ("trainer.hyperparameter_scheduler.a_schedule", "missing", sched, "critical")
    ]
