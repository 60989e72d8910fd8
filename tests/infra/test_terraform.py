"""Static checks of the Terraform in infra/: formatting, checkov, and the registry-driven shape.

Nothing here can reach Google: `terraform init` cannot fetch the google provider offline, so
`terraform validate` and `plan` cannot run on the real configuration. Instead:

- `terraform fmt -check` and checkov (its own venv under .local/tools/checkov, because it ships
  a module `hcl2` of its own that conflicts with python-hcl2) check formatting and security;
- the .tf files are parsed with that same checkov venv's HCL parser (a subprocess printing
  JSON) to assert structure: for_each sources, who gets `allUsers`, backends, variable types;
- the modules keep every registry-derived for_each map in a `locals.tf` that refers to no
  resource, so Terraform itself (no provider needed) evaluates those files here against a
  registry richer than the real one, and against broken registries that must be refused.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import registry

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MODULES = INFRA / "modules"
ENVIRONMENTS = ("staging", "prod")


# Printed by the checkov venv's interpreter: every .tf file under argv[1], parsed, as JSON.
_HCL_DUMP = """
import json, pathlib, sys
import hcl2
root = pathlib.Path(sys.argv[1])
out = {}
for path in sorted(root.rglob("*.tf")):
    if ".terraform" in path.parts:
        continue
    with path.open() as f:
        out[path.relative_to(root).as_posix()] = hcl2.load(f)
print(json.dumps(out))
"""

Json = dict[str, Any]


# --- Tools ------------------------------------------------------------------------------------


def _terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.fail("terraform is not on PATH: install Terraform >= 1.9 to run the infra tests")
    return path


def _terraform_env() -> dict[str, str]:
    env = dict(os.environ)
    # A CLI config variable naming a missing file only produces warnings on every call.
    config = env.get("TF_CLI_CONFIG_FILE")
    if config and not Path(config).exists():
        del env["TF_CLI_CONFIG_FILE"]
    env["CHECKPOINT_DISABLE"] = "1"  # no version check over the network
    env["TF_IN_AUTOMATION"] = "1"
    return env


def _run_terraform(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_terraform(), *args, "-no-color"],
        cwd=cwd,
        env=_terraform_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def checkov_bin() -> Path:
    from devstack.tools import install_checkov

    return install_checkov(REPO)


@pytest.fixture(scope="session")
def tf(checkov_bin: Path) -> dict[str, Json]:
    """Every .tf file under infra/, parsed: {"modules/functions/main.tf": {...}, ...}."""
    result = subprocess.run(
        [str(checkov_bin / "python"), "-c", _HCL_DUMP, str(INFRA)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    parsed: dict[str, Json] = json.loads(result.stdout)
    return parsed


# --- Reading parsed HCL -------------------------------------------------------------------------


def _blocks(tf: dict[str, Json], kind: str, prefix: str = "") -> Iterator[tuple[str, str, Json]]:
    """(file, name, body) of every `kind` block (variable, module, ...) in files under prefix."""
    for file, doc in tf.items():
        if file.startswith(prefix):
            for block in doc.get(kind, []):
                for name, body in block.items():
                    yield file, name, body


def _resources(tf: dict[str, Json], prefix: str = "") -> Iterator[tuple[str, str, str, Json]]:
    """(file, type, name, body) of every resource in files under prefix."""
    for file, rtype, named in _blocks(tf, "resource", prefix):
        for name, body in named.items():
            yield file, rtype, name, body


def _resource(tf: dict[str, Json], module: str, rtype: str, name: str) -> Json:
    for _, found_type, found_name, body in _resources(tf, f"modules/{module}/"):
        if (found_type, found_name) == (rtype, name):
            return body
    raise AssertionError(f"no resource {rtype}.{name} in modules/{module}")


def _variable(tf: dict[str, Json], directory: str, name: str) -> Json:
    for _, found, body in _blocks(tf, "variable", f"{directory}/"):
        if found == name:
            return body
    raise AssertionError(f"no variable {name} in {directory}")


def _module_call(tf: dict[str, Json], directory: str, name: str) -> Json:
    for _, found, body in _blocks(tf, "module", f"{directory}/"):
        if found == name:
            return body
    raise AssertionError(f"no module {name} in {directory}")


def _attr(body: Json, key: str) -> Any:
    value = body[key]
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _expr(value: Any) -> str:
    """An expression as the parser renders it, or as written, without its quoting and spaces."""
    assert isinstance(value, str), value
    bare = re.sub(r"\$\{|[{}'\"\s]", "", value)
    # The parser writes HCL's booleans the Python way.
    return re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", bare))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- Registries -----------------------------------------------------------------------------


@pytest.fixture
def rich_registry(monkeypatch: pytest.MonkeyPatch) -> Json:
    """A registry with every kind of entry the real one will grow, rendered by the real code."""
    base = (registry.FIRESTORE_USER, registry.PUBSUB_PUBLISHER, registry.LOG_WRITER)
    sql = (registry.SQL_CLIENT, registry.SQL_INSTANCE_USER)
    enqueue = (registry.TASKS_ENQUEUER, registry.ACT_AS)
    mirror = ("mirror-changes",)
    functions = (
        registry.Function("bootstrapAccount", "callable", roles=base, publishes=mirror),
        registry.Function(
            "syncSessions",
            "callable",
            roles=(*base, *sql, *enqueue),
            sql_pool=1,
            publishes=mirror,
            task_queues=("push-delivery",),
        ),
        registry.Function(
            "deleteAccount",
            "callable",
            roles=(*base, *sql, registry.AUTH_USER_DELETER, registry.TASKS_DELETER),
            sql_pool=1,
            publishes=mirror,
            task_queues=("push-delivery", "push-retry"),
        ),
        registry.Function(
            "exportAccount",
            "callable",
            roles=(registry.FIRESTORE_VIEWER, *sql, registry.AUTH_USER_READER),
            sql_pool=1,
            sql_read_only=True,
        ),
        registry.Function(
            "deliverPush",
            "http",
            timeout_s=30,
            concurrency=20,
            max_instances=50,
            roles=(registry.FIRESTORE_USER, registry.FCM_SENDER, registry.LOG_WRITER),
        ),
        registry.Function(
            "mirrorChanges",
            "pubsub",
            topic="mirror-changes",
            concurrency=8,
            max_instances=40,
            roles=(registry.FIRESTORE_USER, *sql, registry.LOG_WRITER),
            sql_pool=8,
        ),
        registry.Function(
            "fanOutPushes",
            "pubsub",
            topic="push-fanout",
            roles=(*base, *enqueue),
            publishes=("push-fanout", "mirror-changes"),
            task_queues=("push-delivery",),
        ),
        registry.Function(
            "refillPushHorizon",
            "pubsub",
            topic="push-horizon",
            roles=(*base, *enqueue),
            publishes=("push-horizon",),
            task_queues=("push-retry",),
        ),
        registry.Function(
            "reconcileMirror",
            "pubsub",
            topic="mirror-reconcile",
            timeout_s=540,
            memory_mb=1024,
            roles=(registry.FIRESTORE_USER, *sql, registry.LOG_WRITER),
            sql_pool=1,
        ),
    )
    topics = (
        registry.Topic("mirror-changes", dead_letter_topic="mirror-changes-dead-letter"),
        registry.Topic("mirror-changes-dead-letter"),
        registry.Topic("push-fanout", dead_letter_topic="push-dead-letter"),
        registry.Topic("push-horizon", dead_letter_topic="push-dead-letter", min_backoff_s=30),
        registry.Topic("mirror-reconcile"),
    )
    # deliverPush takes 50 x 20 = 1,000 requests at once: 5 queues x 200 in flight fit.
    queues = (
        registry.Queue("push-delivery", "deliverPush", shards=4, max_concurrent_dispatches=200),
        registry.Queue(
            "push-retry",
            "deliverPush",
            max_dispatches_per_second=50.0,
            max_concurrent_dispatches=200,
        ),
    )
    jobs = (
        registry.ScheduledJob("refill-push-horizon", "*/15 * * * *", "push-horizon"),
        registry.ScheduledJob("reconcile-mirror", "30 3 * * *", "mirror-reconcile"),
    )
    monkeypatch.setattr(registry, "FUNCTIONS", functions)
    monkeypatch.setattr(registry, "TOPICS", topics)
    monkeypatch.setattr(registry, "QUEUES", queues)
    monkeypatch.setattr(registry, "SCHEDULED_JOBS", jobs)
    rendered: Json = json.loads(registry.render_terraform_vars())
    return rendered


def _real_registry() -> Json:
    rendered: Json = json.loads(registry.render_terraform_vars())
    return rendered


# --- Evaluating the registry-derived locals with Terraform alone ---------------------------------

_SQL_SIZING = {"tier": "db-custom-1-3840", "availability_type": "ZONAL", "disk_size_gb": 20}


def _eval_dir(
    tmp_path: Path, module: str, variables: Json, files: dict[str, str] | None = None
) -> Path:
    """A scratch root holding modules/<module>/{variables,locals}.tf and an output of each local.

    The files sit at the same place in a scratch tree, so path.module-relative paths resolve
    against `files` written at the scratch root. They refer to no resource, so Terraform
    applies them without any provider.
    """
    module_dir = tmp_path / "infra" / "modules" / module
    module_dir.mkdir(parents=True)
    for name in ("variables.tf", "locals.tf"):
        shutil.copy(MODULES / module / name, module_dir / name)
    for name, content in (files or {}).items():
        (tmp_path / name).write_text(content)
    local_names = re.findall(
        r"^  (\w+)\s*=", (MODULES / module / "locals.tf").read_text(), flags=re.MULTILINE
    )
    outputs = "\n".join(f"    {name} = local.{name}" for name in local_names)
    (module_dir / "eval.tf").write_text(f'output "locals" {{\n  value = {{\n{outputs}\n  }}\n}}\n')
    (module_dir / "terraform.tfvars.json").write_text(json.dumps(variables))
    return module_dir


def _evaluate_locals(
    tmp_path: Path, module: str, variables: Json, files: dict[str, str] | None = None
) -> Json:
    """Every local of modules/<module>/locals.tf, evaluated for `variables` by Terraform."""
    module_dir = _eval_dir(tmp_path, module, variables, files)
    applied = _run_terraform(["apply", "-auto-approve", "-input=false"], module_dir)
    assert applied.returncode == 0, applied.stderr
    shown = _run_terraform(["output", "-json", "locals"], module_dir)
    assert shown.returncode == 0, shown.stderr
    values: Json = json.loads(shown.stdout)
    return values


def _stack_variables(registry_vars: Json, max_connections: int = 1000) -> Json:
    return {
        "environment": "test",
        "project_id": "demo-focus",
        "region": registry.REGION,
        "sql": {**_SQL_SIZING, "max_connections": max_connections},
        "firestore_app_check_enforcement": "ENFORCED",
        **registry_vars,
    }


def _functions_variables(registry_vars: Json) -> Json:
    return {
        "project_id": "demo-focus",
        "project_number": "123456789",
        "region": registry.REGION,
        "environment": "test",
        "functions": registry_vars["functions"],
        "network_id": "net",
        "subnetwork_id": "subnet",
        "sql_connection_name": "demo-focus:europe-west1:focus",
        "sql_database": "focus",
        "firestore_database": "(default)",
        "redis_url": "redis://10.0.0.3:6379/0",
        "redis_auth_secret_id": "focus-limits-test-auth",
    }


def _pubsub_variables(registry_vars: Json) -> Json:
    pubsub_functions = {
        name: fn for name, fn in registry_vars["functions"].items() if fn["kind"] == "pubsub"
    }
    return {
        "project_id": "demo-focus",
        "topics": registry_vars["topics"],
        "push_subscriptions": {
            name: {
                "topic": fn["topic"],
                "endpoint": f"https://{name.lower()}/projects/demo-focus/topics/{fn['topic']}",
                "audience": f"https://{name.lower()}",
                "ack_deadline_s": 60,
            }
            for name, fn in pubsub_functions.items()
        },
        "pusher_email": "pusher@demo-focus.iam.gserviceaccount.com",
        "pusher_id": "projects/-/serviceAccounts/pusher@demo-focus.iam.gserviceaccount.com",
        "pubsub_service_agent": "serviceAccount:agent@example.com",
    }


# --- Formatting and security ------------------------------------------------------------------


def test_terraform_files_are_formatted() -> None:
    result = _run_terraform(["fmt", "-check", "-recursive", "infra"], REPO)
    assert result.returncode == 0, f"run `terraform fmt -recursive infra`:\n{result.stdout}"


def test_checkov_reports_no_failed_checks(checkov_bin: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(checkov_bin / "checkov"),
            "--skip-download",
            "--quiet",
            "--compact",
            "-d",
            "infra",
            "--framework",
            "terraform",
            "-o",
            "cli",
            "-o",
            "json",
            "--output-file-path",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "results_json.json").read_text())["summary"]
    assert summary["failed"] == 0
    assert summary["parsing_errors"] == 0
    # A scan that found nothing would also have no failures.
    assert summary["resource_count"] >= 40, summary


def test_every_checkov_skip_gives_a_reason() -> None:
    for path in INFRA.rglob("*.tf"):
        for skip in re.findall(r"checkov:skip=([^\n]*)", path.read_text()):
            check, _, reason = skip.partition(":")
            assert re.fullmatch(r"CKV2?_[A-Z]+_\d+", check), f"{path}: {skip}"
            assert len(reason.split()) >= 8, f"{path}: skip {check} needs a real reason"


# --- Environments -------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_registry_tfvars_match_the_registry(env: str) -> None:
    generated = INFRA / "environments" / env / "registry.auto.tfvars.json"
    assert generated.read_text() == registry.render_terraform_vars(), (
        f"{generated.relative_to(REPO)} is stale: run `make requirements`"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_has_empty_gcs_backend_and_pinned_providers(
    tf: dict[str, Json], env: str
) -> None:
    terraform_blocks = [body for _, body in _terraform_blocks(tf, f"environments/{env}/")]
    backends = [backend for block in terraform_blocks for backend in block.get("backend", [])]
    assert backends == [{"gcs": {}}]
    providers = {
        name: spec
        for block in terraform_blocks
        for required in block.get("required_providers", [])
        for name, spec in required.items()
    }
    assert set(providers) == {"google", "google-beta", "archive", "random"}
    for name, spec in providers.items():
        assert _attr(spec[0], "source") == f"hashicorp/{name}"
        assert _attr(spec[0], "version").startswith("~>")
    module = _module_call(tf, f"environments/{env}", "stack")
    assert _attr(module, "source") == "../../modules/stack"
    for name in ("functions", "topics", "queues", "scheduled_jobs"):
        assert _expr(_attr(module, name)) == f"var.{name}"


def _terraform_blocks(tf: dict[str, Json], prefix: str) -> Iterator[tuple[str, Json]]:
    for file, doc in tf.items():
        if file.startswith(prefix):
            for block in doc.get("terraform", []):
                yield file, block


def test_registry_variable_types_agree_everywhere(tf: dict[str, Json]) -> None:
    """The generated tfvars, the environments, the stack and the modules use one type each."""
    uses = {
        "functions": [("modules/stack", "functions"), ("modules/functions", "functions")],
        "topics": [("modules/stack", "topics"), ("modules/pubsub", "topics")],
        "queues": [("modules/stack", "queues"), ("modules/tasks", "queues")],
        "scheduled_jobs": [("modules/stack", "scheduled_jobs"), ("modules/scheduler", "jobs")],
        "slos": [("modules/stack", "slos"), ("modules/monitoring", "slos")],
    }
    real = _real_registry()
    for name, places in uses.items():
        types = {_attr(_variable(tf, f"environments/{env}", name), "type") for env in ENVIRONMENTS}
        types |= {_attr(_variable(tf, where, var), "type") for where, var in places}
        assert len(types) == 1, f"{name} has several types: {types}"
        # Terraform drops attributes an object type does not name: the type must name them all.
        attributes = set(re.findall(r"'(\w+)':", types.pop()))
        assert attributes == set(_entry_attributes(name)), name
        for entry in real[name].values():
            assert set(entry) == attributes, name


def _entry_attributes(name: str) -> list[str]:
    if name == "slos":  # rendered from each function's SLOs, one entry per SLO
        return [key for slo in _real_registry()["slos"].values() for key in slo]
    entry: type[Any] = {
        "functions": registry.Function,
        "topics": registry.Topic,
        "queues": registry.Queue,
        "scheduled_jobs": registry.ScheduledJob,
    }[name]
    # Every dataclass field but the key, the queue's shard count (expanded into keys) and what
    # only the code and the contract read (a callable's request size limit, its rate limits and
    # its contract: no resource holds them; the database group role, which `focusctl mirror
    # grant-roles` applies); a function's SLOs and area are the `slos` variable's.
    skipped = {
        "name",
        "shards",
        "max_request_bytes",
        "contract",
        "rate_limits",
        "sql_read_only",
        "slos",
        "area",
    }
    return [f.name for f in dataclasses.fields(entry) if f.name not in skipped]


# --- Shape: everything follows the registry ----------------------------------------------------


def test_every_function_gets_its_own_service_account_and_function(tf: dict[str, Json]) -> None:
    for rtype in ("google_service_account", "google_cloudfunctions2_function"):
        body = _resource(tf, "functions", rtype, "fn")
        assert _expr(_attr(body, "for_each")) == "var.functions"
    function = _resource(tf, "functions", "google_cloudfunctions2_function", "fn")
    service = _attr(function, "service_config")
    assert _expr(_attr(service, "service_account_email")) == (
        "google_service_account.fn[each.key].email"
    )
    assert _attr(_attr(function, "build_config"), "runtime") == "python312"
    # Only callables take traffic from the internet.
    assert _expr(_attr(service, "ingress_settings")) == _expr(
        'each.value.kind == "callable" ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"'
    )
    # The registry reaches the module unchanged, through the stack.
    passed = _attr(_module_call(tf, "modules/stack", "functions"), "functions")
    assert _expr(passed) == "var.functions"


def test_registry_for_each_sources(tf: dict[str, Json]) -> None:
    """Each registry-driven resource iterates a variable or a local evaluated below."""
    expected = {
        ("functions", "google_project_iam_member", "fn"): "local.project_role_grants",
        ("functions", "google_project_iam_member", "fn_custom"): "local.custom_role_grants",
        ("functions", "google_project_iam_custom_role", "fn"): "local.custom_roles",
        ("pubsub", "google_pubsub_topic_iam_member", "function_publishes"): "var.publishers",
        ("tasks", "google_cloud_tasks_queue_iam_member", "function"): "var.queue_grants",
        ("functions", "google_service_account_iam_member", "enqueuer_acts_as_invoker"): (
            "local.act_as_functions"
        ),
        ("functions", "google_cloud_run_service_iam_member", "callable_public"): (
            "local.callable_functions"
        ),
        ("functions", "google_cloud_run_service_iam_member", "http_tasks_invoker"): (
            "local.http_functions"
        ),
        ("functions", "google_cloud_run_service_iam_member", "pubsub_pusher"): (
            "local.pubsub_functions"
        ),
        ("pubsub", "google_pubsub_topic", "topic"): "var.topics",
        ("pubsub", "google_pubsub_topic", "dead_letter"): "local.extra_dead_letter_names",
        ("pubsub", "google_pubsub_subscription", "push"): "var.push_subscriptions",
        ("pubsub", "google_pubsub_subscription", "dead_letter_pull"): ("local.dead_letter_topics"),
        ("pubsub", "google_pubsub_subscription_iam_member", "agent_acks_dead_letters"): (
            "local.dead_lettered_subscriptions"
        ),
        ("pubsub", "google_pubsub_topic_iam_member", "agent_publishes_dead_letters"): (
            "local.dead_letter_topics"
        ),
        ("pubsub", "google_monitoring_alert_policy", "dead_letters"): ("local.dead_letter_topics"),
        ("tasks", "google_cloud_tasks_queue", "queue"): "var.queues",
        ("scheduler", "google_cloud_scheduler_job", "job"): "var.jobs",
        ("cloudsql", "google_sql_user", "function"): "var.iam_service_accounts",
        ("firestore", "google_firestore_index", "composite"): "local.composite_indexes",
        ("firestore", "google_firestore_field", "override"): "local.overrides",
    }
    for (module, rtype, name), source in expected.items():
        actual = _attr(_resource(tf, module, rtype, name), "for_each")
        assert _expr(actual) == _expr(source), (module, name)

    stack = "modules/stack"
    for module, argument, source in (
        ("tasks", "queues", "var.queues"),
        ("scheduler", "jobs", "var.scheduled_jobs"),
        ("pubsub", "topics", "var.topics"),
        ("pubsub", "publishers", "module.functions.publisher_grants"),
        ("tasks", "queue_grants", "module.functions.queue_grants"),
    ):
        assert _expr(_attr(_module_call(tf, stack, module), argument)) == source
    pushes = _attr(_module_call(tf, stack, "pubsub"), "push_subscriptions")
    assert _expr(pushes).startswith(_expr("for name, fn in local.pubsub_functions :"))
    users = _attr(_module_call(tf, stack, "cloudsql"), "iam_service_accounts")
    assert _expr(users).startswith(_expr("for name in keys(local.sql_functions) :"))


def test_all_users_is_granted_to_callables_only(tf: dict[str, Json]) -> None:
    """One resource grants public access; its for_each, local.callable_functions, is checked
    above, and evaluated to hold exactly the callables in test_functions_module_derivations."""
    public = [
        (file, rtype, name)
        for file, rtype, name, body in _resources(tf)
        if any(s in {"allUsers", "allAuthenticatedUsers"} for s in _strings(body))
    ]
    assert public == [
        ("modules/functions/main.tf", "google_cloud_run_service_iam_member", "callable_public")
    ]
    # Non-callables are invoked by one account each, never by a public principal.
    for name, member in (
        ("http_tasks_invoker", "google_service_account.tasks_invoker.email"),
        ("pubsub_pusher", "google_service_account.pubsub_pusher.email"),
    ):
        body = _resource(tf, "functions", "google_cloud_run_service_iam_member", name)
        assert _expr(_attr(body, "member")) == f"serviceAccount:{member}"


def test_no_registry_entry_is_named_in_terraform(rich_registry: Json) -> None:
    """Adding or renaming a registry entry never needs a Terraform edit."""
    names = {
        name
        for registry_vars in (rich_registry, _real_registry())
        for kind in ("functions", "topics", "queues", "scheduled_jobs")
        for name in registry_vars[kind]
    }
    for path in INFRA.rglob("*.tf"):
        # Code only: prose in comments may use a word that happens to be a registry name.
        code = re.sub(r"(#|//).*", "", path.read_text())
        for name in names:
            # As a string ("mirror-changes", ["deliverPush"]) or as a map key (deliverPush = 1).
            used = rf'"{re.escape(name)}"|^\s*{re.escape(name)}\s*='
            assert not re.search(used, code, flags=re.MULTILINE), f"{path} names {name}"


# --- Evaluated: the rich registry through the real locals -----------------------------------------


def test_functions_module_derivations(tmp_path: Path, rich_registry: Json) -> None:
    functions = rich_registry["functions"]
    values = _evaluate_locals(tmp_path, "functions", _functions_variables(rich_registry))

    def of_kind(kind: str) -> set[str]:
        return {name for name, fn in functions.items() if fn["kind"] == kind}

    assert set(values["callable_functions"]) == of_kind("callable")
    assert set(values["http_functions"]) == of_kind("http")
    assert set(values["pubsub_functions"]) == of_kind("pubsub")
    assert set(values["sql_functions"]) == {
        name for name, fn in functions.items() if registry.SQL_INSTANCE_USER in fn["roles"]
    }
    assert set(values["act_as_functions"]) == {
        name for name, fn in functions.items() if registry.ACT_AS in fn["roles"]
    }
    # Every registry role is granted once, and where it applies: predefined roles on the
    # project, custom roles (for Auth and FCM) by the custom-role resource, the publisher role
    # on each topic the function names, Cloud Tasks roles on each queue shard it names, actAs on
    # the invoker account only.
    scoped = {registry.PUBSUB_PUBLISHER, registry.TASKS_ENQUEUER, registry.TASKS_DELETER}
    project, custom = values["project_role_grants"], values["custom_role_grants"]
    assert not {g["role"] for g in project.values()} & (scoped | {registry.ACT_AS})
    assert all(g["role"].startswith("roles/") for g in project.values())
    granted = (
        {(g["function"], g["role"]) for g in project.values()}
        | {(g["function"], g["role"]) for g in custom.values()}
        | {(g["function"], registry.PUBSUB_PUBLISHER) for g in values["publisher_grants"].values()}
        | {(g["function"], g["role"]) for g in values["queue_grants"].values()}
    )
    assert granted == {
        (name, role)
        for name, fn in functions.items()
        for role in fn["roles"]
        if role != registry.ACT_AS
    }
    assert {g["role"] for g in custom.values()} == {
        registry.AUTH_USER_DELETER,
        registry.AUTH_USER_READER,
        registry.FCM_SENDER,
    }
    assert {f"custom/{role_id}" for role_id in values["custom_roles"]} == {
        registry.AUTH_USER_DELETER,
        registry.AUTH_USER_READER,
        registry.FCM_SENDER,
    }
    assert {(g["function"], g["topic"]) for g in values["publisher_grants"].values()} == {
        (name, topic) for name, fn in functions.items() for topic in fn["publishes"]
    }
    assert {(g["function"], g["role"], g["queue"]) for g in values["queue_grants"].values()} == {
        (name, role, queue)
        for name, fn in functions.items()
        for role in fn["roles"]
        if role in (registry.TASKS_ENQUEUER, registry.TASKS_DELETER)
        for queue in fn["task_queues"]
    }
    # Shards: deleteAccount may delete tasks from the 4 push-delivery shards and push-retry.
    assert sorted(
        g["queue"] for g in values["queue_grants"].values() if g["function"] == "deleteAccount"
    ) == ["push-delivery-0", "push-delivery-1", "push-delivery-2", "push-delivery-3", "push-retry"]
    assert values["pubsub_push_audiences"]["mirrorChanges"] == (
        "https://mirrorchanges-123456789.europe-west1.run.app"
    )
    assert values["http_function_urls"] == {
        "deliverPush": "https://deliverpush-123456789.europe-west1.run.app"
    }


def test_pubsub_module_derivations(tmp_path: Path, rich_registry: Json) -> None:
    values = _evaluate_locals(tmp_path, "pubsub", _pubsub_variables(rich_registry))
    assert sorted(values["dead_letter_topics"]) == [
        "mirror-changes-dead-letter",
        "push-dead-letter",
    ]
    # mirror-changes-dead-letter is a registry topic already: not created twice.
    assert values["extra_dead_letter_names"] == ["push-dead-letter"]
    assert set(values["dead_lettered_subscriptions"]) == {
        "mirrorChanges",
        "fanOutPushes",
        "refillPushHorizon",
    }


@pytest.mark.parametrize("which", ["real", "rich"])
def test_stack_accepts_the_registry(tmp_path: Path, rich_registry: Json, which: str) -> None:
    registry_vars = _real_registry() if which == "real" else rich_registry
    values = _evaluate_locals(tmp_path, "stack", _stack_variables(registry_vars))
    functions = registry_vars["functions"]
    pubsub = {name for name, fn in functions.items() if fn["kind"] == "pubsub"}
    assert set(values["pubsub_functions"]) == pubsub
    for name in pubsub:
        timeout = functions[name]["timeout_s"]
        assert values["pubsub_functions"][name]["ack_deadline_s"] == max(10, min(600, timeout))
    sql = [fn for fn in functions.values() if registry.SQL_INSTANCE_USER in fn["roles"]]
    assert values["sql_peak_connections"] == sum(fn["max_instances"] * fn["sql_pool"] for fn in sql)


SQL_POOL_CHANGES = {
    "sql pool without the sql role": ("bootstrapAccount", 1),
    "sql role without a pool": ("syncSessions", 0),
}


# Roles off the stack's allowlist: (function, role added).
ROLE_CHANGES = {
    "basic role": ("bootstrapAccount", "roles/editor"),
    "unlisted admin role": ("bootstrapAccount", "roles/cloudsql.admin"),
    "the predefined Auth admin role": ("deleteAccount", "roles/firebaseauth.admin"),
    "a broad role without admin in its name": ("bootstrapAccount", "roles/pubsub.editor"),
}
# Where scoped roles apply: (function, field, value).
SCOPE_CHANGES: dict[str, tuple[str, str, list[str]]] = {
    "publisher naming no topic": ("bootstrapAccount", "publishes", []),
    "publishing to an unknown topic": ("bootstrapAccount", "publishes", ["no-such-topic"]),
    "topics without the publisher role": ("deliverPush", "publishes", ["mirror-changes"]),
    "enqueuer naming no queue": ("syncSessions", "task_queues", []),
    # Queues are named by shard: push-delivery-0 .. -3.
    "an unknown queue": ("syncSessions", "task_queues", ["push-delivery"]),
}


def _broken(registry_vars: Json, change: str) -> Json:
    broken: Json = json.loads(json.dumps(registry_vars))
    functions, queues = broken["functions"], broken["queues"]
    if change == "queue targets a callable":
        queues["push-retry"]["target_function"] = "bootstrapAccount"
    elif change == "queue targets an unknown function":
        queues["push-retry"]["target_function"] = "nobody"
    elif change == "pubsub function without a known topic":
        functions["mirrorChanges"]["topic"] = "no-such-topic"
    elif change == "callable with a topic":
        functions["bootstrapAccount"]["topic"] = "mirror-changes"
    elif change == "unknown kind":
        functions["bootstrapAccount"]["kind"] = "event"
    elif change in ROLE_CHANGES:
        name, role = ROLE_CHANGES[change]
        functions[name]["roles"].append(role)
    elif change in SCOPE_CHANGES:
        name, field, value = SCOPE_CHANGES[change]
        functions[name][field] = value
    elif change == "name too long for a service account":
        functions["anExtremelyLongFunctionNameX"] = functions["bootstrapAccount"]
    elif change == "pubsub timeout beyond the ack deadline":
        functions["reconcileMirror"]["timeout_s"] = 900
    elif change == "job on an unknown topic":
        broken["scheduled_jobs"]["reconcile-mirror"]["topic"] = "no-such-topic"
    elif change == "queue beyond 500 dispatches/s":
        queues["push-retry"]["max_dispatches_per_second"] = 800
    elif change in SQL_POOL_CHANGES:
        name, pool = SQL_POOL_CHANGES[change]
        functions[name]["sql_pool"] = pool
    return broken


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ("queue targets a callable", "target_function must be an http function"),
        ("queue targets an unknown function", "target_function must be an http function"),
        ("pubsub function without a known topic", "topic must be one of the registry's topics"),
        ("callable with a topic", "A pubsub function names its topic; other kinds name none."),
        ("unknown kind", "kind is callable, http or pubsub"),
        ("basic role", "must be on the allowlist"),
        ("unlisted admin role", "must be on the allowlist"),
        ("the predefined Auth admin role", "must be on the allowlist"),
        ("a broad role without admin in its name", "must be on the allowlist"),
        ("publisher naming no topic", "names the registry topics it publishes to"),
        ("publishing to an unknown topic", "names the registry topics it publishes to"),
        ("topics without the publisher role", "only such a function names any"),
        ("enqueuer naming no queue", "names the registry queues it uses"),
        ("an unknown queue", "task_queues names the registry queues it uses"),
        ("name too long for a service account", "at most 27 characters"),
        ("pubsub timeout beyond the ack deadline", "timeout_s is at most 600 for pubsub"),
        ("job on an unknown topic", "publishes to one of the registry's topics"),
        ("queue beyond 500 dispatches/s", "0 < max_dispatches_per_second <= 500"),
        ("sql pool without the sql role", "above 0 exactly for functions with"),
        ("sql role without a pool", "above 0 exactly for functions with"),
    ],
)
def test_stack_refuses_a_broken_registry(
    tmp_path: Path, rich_registry: Json, change: str, refusal: str
) -> None:
    variables = _stack_variables(_broken(rich_registry, change))
    module_dir = _eval_dir(tmp_path, "stack", variables)
    planned = _run_terraform(["plan", "-input=false"], module_dir)
    assert planned.returncode != 0
    errors = " ".join(planned.stderr.split())
    assert "Invalid value for variable" in errors
    assert refusal in errors, errors


def _plan_with_checks(tmp_path: Path, variables: Json) -> str:
    """The stack's check blocks, planned on their own: their warnings, as one line."""
    module_dir = _eval_dir(tmp_path, "stack", variables)
    checks = re.findall(
        r'^check "\w+" \{.*?^\}',
        (MODULES / "stack" / "main.tf").read_text(),
        flags=re.DOTALL | re.MULTILINE,
    )
    assert len(checks) == 2
    (module_dir / "checks.tf").write_text("\n\n".join(checks) + "\n")
    planned = _run_terraform(["plan", "-input=false"], module_dir)
    assert planned.returncode == 0, planned.stderr  # a check warns, it never refuses a plan
    return " ".join((planned.stdout + planned.stderr).split())


def test_checks_are_quiet_for_a_registry_that_fits(tmp_path: Path, rich_registry: Json) -> None:
    output = _plan_with_checks(tmp_path, _stack_variables(rich_registry))
    assert "Check block assertion failed" not in output, output


def test_check_warns_when_sql_connections_outgrow_the_instance(
    tmp_path: Path, rich_registry: Json
) -> None:
    # The rich registry's SQL functions peak at 100 + 100 + 100 + 40 x 8 + 100 = 720 connections.
    output = _plan_with_checks(tmp_path, _stack_variables(rich_registry, max_connections=300))
    assert "may open 720 connections" in output, output


def test_check_warns_when_queues_outrun_their_function(tmp_path: Path, rich_registry: Json) -> None:
    rich_registry["queues"]["push-retry"]["max_concurrent_dispatches"] = 1000
    output = _plan_with_checks(tmp_path, _stack_variables(rich_registry))
    assert "more requests in flight than these http functions take" in output, output
    assert '"deliverPush":{"capacity":1000,"in_flight":1800}' in output, output


def test_firestore_indexes_json_maps_to_indexes_and_fields(tmp_path: Path) -> None:
    spec = {
        "indexes": [
            {
                "collectionGroup": "sessions",
                "queryScope": "COLLECTION",
                "fields": [
                    {"fieldPath": "deleted", "order": "ASCENDING"},
                    {"fieldPath": "updatedAt", "order": "DESCENDING"},
                ],
            },
            {
                "collectionGroup": "devices",
                "queryScope": "COLLECTION_GROUP",
                "fields": [
                    {"fieldPath": "platforms", "arrayConfig": "CONTAINS"},
                    {"fieldPath": "lastSeen", "order": "ASCENDING"},
                ],
            },
        ],
        "fieldOverrides": [
            {"collectionGroup": "sessions", "fieldPath": "purgeAt", "ttl": True, "indexes": []},
            {
                "collectionGroup": "sessions",
                "fieldPath": "updatedAt",
                "indexes": [{"order": "ASCENDING", "queryScope": "COLLECTION"}],
            },
        ],
    }
    values = _evaluate_locals(
        tmp_path,
        "firestore",
        {"project_id": "demo-focus", "location": registry.REGION},
        files={"firestore.indexes.json": json.dumps(spec), "firestore.rules": ""},
    )
    assert set(values["composite_indexes"]) == {
        "sessions/COLLECTION/deleted:ASCENDING,updatedAt:DESCENDING",
        "devices/COLLECTION_GROUP/platforms:CONTAINS,lastSeen:ASCENDING",
    }
    assert set(values["overrides"]) == {"sessions/purgeAt", "sessions/updatedAt"}
    assert values["overrides"]["sessions/purgeAt"]["ttl"] is True


def test_firestore_field_override_blocks(tf: dict[str, Json]) -> None:
    field = _resource(tf, "firestore", "google_firestore_field", "override")
    dynamics = {name: body for block in field["dynamic"] for name, body in block.items()}
    # "indexes": [] must produce an empty index_config (indexing disabled), "ttl": true an
    # empty ttl_config.
    assert _expr(_attr(dynamics["index_config"], "for_each")) == _expr(
        "can(each.value.indexes) ? [each.value.indexes] : []"
    )
    assert _expr(_attr(dynamics["ttl_config"], "for_each")) == _expr(
        "try(each.value.ttl, false) ? [true] : []"
    )
