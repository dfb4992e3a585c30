"""Warm starts that are correct: a trl trial resumed from its lower rung trains as the run
from scratch at its budget would (the learning-rate schedule spans max_budget from the first
rung and each rung stops at its own budget)."""

import json

import pytest

from rlsweep.adaptive import Search
from rlsweep.backends.trl_common import SCHEDULE_KEY
from rlsweep.design import make_trial
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import Status

#: keys that differ between runs by construction (time, where from)
VOLATILE = ("wall_time_s", "train_runtime", "train_samples_per_second", "train_steps_per_second")


def grpo_doc(model, **search) -> dict:
    return {
        "name": "warm",
        "backend": "grpo",
        "base": {"max_steps": 4, "kl_every": 2, "model": {"path": str(model)}},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [3e-3]}},
        "seeds": {"tune": [0], "test": [100]},
        "search": {"method": "hyperband", "min_budget": 2, "max_budget": 4, "eta": 2, **search},
    }


def rows(seed_dir):
    out = []
    for line in (seed_dir / "metrics.jsonl").open():
        row = json.loads(line)
        out.append({k: v for k, v in row.items() if k not in VOLATILE})
    return out


def test_warm_start_with_another_fidelity_than_steps_is_refused_on_trl(tmp_path):
    doc = grpo_doc(tmp_path / "model", warm_start=True, fidelity="num_generations")
    with pytest.raises(SpecError, match="learning-rate schedule spans only its own budget"):
        parse_spec(doc)


def test_warm_started_rungs_schedule_over_max_budget_and_others_do_not(tmp_path):
    params = {"learning_rate": 3e-3}
    warm = Search(parse_spec(grpo_doc(tmp_path, warm_start=True)), SweepDirs(tmp_path / "w"))
    low, high = warm.trial(params, 2, 0, 0), warm.trial(params, 4, 0, 1)
    assert low.config[SCHEDULE_KEY] == high.config[SCHEDULE_KEY] == 4
    assert high.warm_start_from == low.id
    cold = Search(parse_spec(grpo_doc(tmp_path)), SweepDirs(tmp_path / "c"))
    assert SCHEDULE_KEY not in cold.trial(params, 2, 0, 0).config  # ids of cold sweeps unchanged


@pytest.mark.slow
def test_a_resumed_grpo_trial_trains_as_the_run_from_scratch(tmp_path):
    from rlsweep.backends.tiny import build_model

    model = build_model(tmp_path / "tiny-gpt2")
    spec = parse_spec(grpo_doc(model, warm_start=True))
    search = Search(spec, SweepDirs(tmp_path / "results"))
    params = {"learning_rate": 3e-3}
    low, high = search.trial(params, 2, 0, 0), search.trial(params, 4, 0, 1)
    assert run_trial(low, "grpo", 0, tmp_path / "low", budget=2, save_checkpoint=True) is Status.OK
    status = run_trial(high, "grpo", 0, tmp_path / "high", budget=4, resume_from=tmp_path / "low")
    assert status is Status.OK
    info = json.loads((tmp_path / "high" / "status.json").read_text())
    assert info["steps_trained"] == 2 and "resumed_from" in info
    # the from-scratch run at the larger budget (the same schedule over 4 steps)
    scratch = make_trial(spec, {**params, "max_steps": 4, SCHEDULE_KEY: 4})
    assert run_trial(scratch, "grpo", 0, tmp_path / "scratch", budget=4) is Status.OK
    resumed, cold = rows(tmp_path / "high"), rows(tmp_path / "scratch")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    assert [r["learning_rate"] for r in resumed] == [r["learning_rate"] for r in cold]
    for a, b in zip(resumed, cold, strict=True):
        for key in ("loss", "reward", "kl_ref"):
            if key in b:
                assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-7), (a["step"], key)
    # what warm_start did before: the lower rung decayed to 0 over its own 2 steps, so the
    # resumed trial's schedule jumped back up at step 3 (unlike the run from scratch)
    before = make_trial(spec, {**params, "max_steps": 2})
    assert run_trial(before, "grpo", 0, tmp_path / "before", budget=2) is Status.OK
    assert rows(tmp_path / "before")[1]["learning_rate"] != cold[1]["learning_rate"]
