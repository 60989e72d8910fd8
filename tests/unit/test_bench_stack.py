"""The benchmarks' stacks run the functions with the deployed settings, not `make dev`'s."""

from __future__ import annotations

from pathlib import Path

from benchmarks.stack import deployed_config
from devstack.stack import Stack, StackConfig
from shared.settings import Settings


def test_a_benchmark_stack_samples_traces_and_caches_phases_as_deployed(tmp_path: Path) -> None:
    env = Stack(deployed_config(tmp_path)).env()
    # Deployed, the functions run with the settings' defaults (infra/ sets neither).
    deployed = {name: field.default for name, field in Settings.model_fields.items()}
    assert float(env["FOCUS_TRACE_SAMPLE_RATIO"]) == deployed["trace_sample_ratio"] < 1
    assert float(env["FOCUS_PHASE_CACHE_S"]) == deployed["phase_cache_s"]
    # ...where `make dev` keeps every trace and rereads the phases often.
    local = Stack(StackConfig(state_dir=tmp_path, ports=deployed_config(tmp_path).ports)).env()
    assert float(local["FOCUS_TRACE_SAMPLE_RATIO"]) == 1
    assert float(local["FOCUS_PHASE_CACHE_S"]) < deployed["phase_cache_s"]
