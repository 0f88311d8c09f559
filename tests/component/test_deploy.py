"""The AWS deployment: task definition, deploy command (against moto's ECS over real HTTP), the
container entrypoint run outside Docker, and the Dockerfile's promises."""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import botocore.session
import httpx
import jwt
import pytest
from botocore.validate import validate_parameters

from devtools.processes import ProcessFailed, wait_until
from wwhd.deploy import deploy as deploy_module
from wwhd.server.launch import GRACEFUL_SHUTDOWN_S
from wwhd.server.secrets import ALLOWED_KEYS

from aws_loopback import apply_aws_environment, aws_environment, free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
BIN = Path(sys.executable).parent
DOCS = [
    REPO / "corpus" / "acupoints" / "acupoint-ht7-shen-men.md",
    REPO / "corpus" / "acupoints" / "acupoint-yin-tang.md",
]
ECS_STOP_TIMEOUT_S = 30  # the task definition's stopTimeout
JWT_FROM_SECRET = "a-jwt-secret-read-from-secrets-manager"


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def infrastructure(aws) -> dict[str, str]:
    """The one-time set-up the README describes, in moto: cluster, network, ALB target group,
    EFS with an access point, the secret."""
    ecs, ec2 = boto3.client("ecs"), boto3.client("ec2")
    ecs.create_cluster(clusterName="wwhd")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24")["Subnet"]["SubnetId"]
        for n in (1, 2)
    ]
    group = ec2.create_security_group(GroupName="wwhd", Description="task", VpcId=vpc)["GroupId"]
    target_group = boto3.client("elbv2").create_target_group(
        Name="wwhd", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip",
        HealthCheckPath="/ok",
    )["TargetGroups"][0]["TargetGroupArn"]
    efs = boto3.client("efs")
    file_system = efs.create_file_system(CreationToken="wwhd", Encrypted=True)["FileSystemId"]
    access_point = efs.create_access_point(
        FileSystemId=file_system,
        PosixUser={"Uid": 10001, "Gid": 10001},
        RootDirectory={"Path": "/wwhd", "CreationInfo": {
            "OwnerUid": 10001, "OwnerGid": 10001, "Permissions": "750"}},
    )["AccessPointId"]
    secret = boto3.client("secretsmanager").create_secret(
        Name="wwhd/prod", SecretString=json.dumps({"OPENAI_API_KEY": "sk-x", "JWT_SECRET": "j"})
    )["ARN"]
    return {
        "subnets": ",".join(subnets), "security_groups": group, "target_group": target_group,
        "file_system": file_system, "access_point": access_point, "secret": secret,
    }


def deploy_argv(infra: dict[str, str], image: str = "registry.example/wwhd:abc123") -> list[str]:
    return [
        "--image", image, "--target-group-arn", infra["target_group"],
        "--subnets", infra["subnets"], "--security-groups", infra["security_groups"],
        "--efs-file-system-id", infra["file_system"],
        "--efs-access-point-id", infra["access_point"], "--secret-arn", infra["secret"],
        "--documents-uri", "s3://wwhd-docs/kb",
    ]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    deploy_module.add_arguments(parser)
    return parser.parse_args(argv)


def run_deploy(argv: list[str], requests: list | None = None) -> tuple[object, list[str]]:
    """Run the deployment in-process; `requests` collects (operation, parameters) it sent."""
    session = boto3.Session()
    if requests is not None:
        session.events.register(
            "provide-client-params.ecs.*",
            lambda params, model, **_: requests.append((model.name, dict(params))),
        )
    lines: list[str] = []
    result = deploy_module.deploy(parse(argv), session=session, out=lines.append)
    return result, lines


def writes(requests: list) -> list[str]:
    return [name for name, _ in requests if not name.startswith(("Describe", "List"))]


def revisions() -> list[str]:
    return boto3.client("ecs").list_task_definitions(familyPrefix="wwhd")["taskDefinitionArns"]


def service() -> dict:
    found = boto3.client("ecs").describe_services(cluster="wwhd", services=["wwhd"])["services"]
    return found[0] if found else {}


SAMPLE_VALUES = {
    "FAMILY": "wwhd", "ACCOUNT_ID": "123456789012", "REGION": "us-east-1",
    "IMAGE": "123456789012.dkr.ecr.us-east-1.amazonaws.com/wwhd:abc123",
    "QDRANT_IMAGE": "qdrant/qdrant:v1.19.0", "EFS_FILE_SYSTEM_ID": "fs-0123456789abcdef0",
    "EFS_ACCESS_POINT_ID": "fsap-0123456789abcdef0",
    "SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:wwhd/prod-AbCdEf",
    "DOCUMENTS_URI": "s3://wwhd-docs/kb", "LOG_GROUP": "/ecs/wwhd",
    "CORS_ALLOW_ORIGINS": "https://app.example.com,https://admin.example.com",
    "JWT_JWKS_URL": "https://idp.example.com/.well-known/jwks.json",
    "JWT_ISSUER": "https://idp.example.com/", "JWT_AUDIENCE": "wwhd-api",
}


# -- the task definition -----------------------------------------------------------------------


def test_task_definition_matches_the_ecs_api_model():
    assert deploy_module.placeholders() == set(SAMPLE_VALUES)
    taskdef = deploy_module.render_task_definition(SAMPLE_VALUES)
    shape = (
        botocore.session.get_session().get_service_model("ecs")
        .operation_model("RegisterTaskDefinition").input_shape
    )

    validate_parameters(taskdef, shape)  # raises ParamValidationError on any mismatch
    deploy_module.validate_task_definition(taskdef)
    assert "${" not in json.dumps(taskdef)


def test_task_definition_agrees_with_the_image_and_the_server():
    """Invariants between the template and the code, not the template read back."""
    taskdef = deploy_module.render_task_definition(SAMPLE_VALUES)
    api, qdrant = taskdef["containerDefinitions"]
    env = {item["name"]: item["value"] for item in api["environment"]}
    # The containers fit the task, and the API waits for its vector store.
    assert sum(c["cpu"] for c in (api, qdrant)) <= int(taskdef["cpu"])
    assert sum(c["memory"] for c in (api, qdrant)) <= int(taskdef["memory"])
    assert api["dependsOn"] == [{"containerName": "qdrant", "condition": "HEALTHY"}]
    # The data folder the server writes is the EFS mount, encrypted in transit; Qdrant needs
    # block storage (its docs: not NFS), so it keeps its data on task storage.
    mounts = {m["containerPath"]: m["sourceVolume"] for m in api["mountPoints"]}
    # A read-only root filesystem, as tests/container runs the image: only /data and /tmp write.
    assert api["readonlyRootFilesystem"] is True and set(mounts) == {env["WWHD_DATA_DIR"], "/tmp"}
    volumes = {volume["name"]: volume for volume in taskdef["volumes"]}
    efs = volumes[mounts[env["WWHD_DATA_DIR"]]]["efsVolumeConfiguration"]
    assert efs["transitEncryption"] == "ENABLED"
    assert "efsVolumeConfiguration" not in volumes[qdrant["mountPoints"][0]["sourceVolume"]]
    # Production settings that load: the secrets come from the given secret, as keys the
    # secrets loader accepts, and the JWT secret among them.
    settings_env = {**env, "JWT_SECRET": "x"}
    settings = load_settings_from(settings_env)
    assert settings.is_production
    # Browser origins and the identity provider reach the server's settings as given.
    assert settings.cors_origins == ("https://app.example.com", "https://admin.example.com")
    assert settings.jwt_jwks_url and settings.jwt_issuer and settings.jwt_audience
    secrets = {s["name"]: s["valueFrom"] for s in api["secrets"]}
    assert "JWT_SECRET" in secrets and set(secrets) <= set(ALLOWED_KEYS)
    assert all(v.startswith(SAMPLE_VALUES["SECRET_ARN"] + ":") for v in secrets.values())
    # The health check is the image's liveness script, and ECS waits longer than uvicorn's
    # graceful shutdown before it kills the process.
    assert api["healthCheck"]["command"][-1] == "/app/deploy/healthcheck.py"
    assert (DEPLOY / "healthcheck.py").is_file()
    assert api["stopTimeout"] > GRACEFUL_SHUTDOWN_S


def load_settings_from(env: dict[str, str]):
    """Settings with these variables (given values win over this process's environment)."""
    from wwhd.core.settings import Settings

    names = {choice for field in Settings.model_fields.values()
             for choice in field.validation_alias.choices}
    return Settings(**{k: v for k, v in env.items() if k in names})


def test_optional_documents_uri_is_dropped_and_bad_definitions_are_refused():
    optional = ("DOCUMENTS_URI", "CORS_ALLOW_ORIGINS", "JWT_JWKS_URL", "JWT_ISSUER",
                "JWT_AUDIENCE")
    taskdef = deploy_module.render_task_definition({**SAMPLE_VALUES,
                                                    **dict.fromkeys(optional, "")})
    names = [item["name"] for item in taskdef["containerDefinitions"][0]["environment"]]
    assert not {"WWHD_INGEST_URI", "WWHD_CORS_ALLOW_ORIGINS", "WWHD_JWT_JWKS_URL"} & set(names)

    taskdef["containerDefinitions"][0]["cpu"] = "a lot"
    with pytest.raises(deploy_module.DeployError, match="does not match the ECS API"):
        deploy_module.validate_task_definition(taskdef)
    too_big = deploy_module.render_task_definition(SAMPLE_VALUES)
    too_big["containerDefinitions"][0]["memory"] = 4096
    with pytest.raises(deploy_module.DeployError, match="the task has 1024 / 2048"):
        deploy_module.validate_task_definition(too_big)
    with pytest.raises(deploy_module.DeployError, match="no value for IMAGE"):
        deploy_module.render_task_definition({k: v for k, v in SAMPLE_VALUES.items()
                                              if k != "IMAGE"})


# -- the deploy command against moto -----------------------------------------------------------


def test_deploy_registers_creates_updates_and_is_idempotent(infrastructure):
    requests: list = []
    first, lines = run_deploy(deploy_argv(infrastructure), requests)

    assert first.registered and first.service_action == "created"
    assert writes(requests) == ["RegisterTaskDefinition", "CreateService"]
    assert len(revisions()) == 1
    created = service()
    assert created["taskDefinition"] == first.task_definition == revisions()[0]
    assert created["launchType"] == "FARGATE" and created["desiredCount"] == 1
    assert created["loadBalancers"] == [{
        "targetGroupArn": infrastructure["target_group"], "containerName": "api",
        "containerPort": 8000,
    }]
    network = created["networkConfiguration"]["awsvpcConfiguration"]
    assert sorted(network["subnets"]) == sorted(infrastructure["subnets"].split(","))
    assert network["assignPublicIp"] == "DISABLED"
    registered = boto3.client("ecs").describe_task_definition(taskDefinition="wwhd")
    api = registered["taskDefinition"]["containerDefinitions"][0]
    assert api["secrets"][0]["valueFrom"].startswith(infrastructure["secret"])
    # moto's CreateService drops these two settings (its UpdateService keeps them), so check
    # what was asked of ECS rather than what moto remembers.
    create = dict(requests)["CreateService"]
    assert create["healthCheckGracePeriodSeconds"] == 600
    assert create["deploymentConfiguration"]["maximumPercent"] == 100
    assert create["deploymentConfiguration"]["minimumHealthyPercent"] == 0
    assert create["deploymentConfiguration"]["deploymentCircuitBreaker"]["rollback"] is True

    # ... so on moto the first re-run applies exactly those two; on AWS it is already a no-op.
    again, _ = run_deploy(deploy_argv(infrastructure))
    assert not again.registered and len(revisions()) == 1
    assert again.changes == ["healthCheckGracePeriodSeconds", "deploymentConfiguration"]
    assert service()["healthCheckGracePeriodSeconds"] == 600

    requests.clear()
    settled, lines = run_deploy(deploy_argv(infrastructure), requests)

    assert not settled.registered and settled.service_action == "unchanged"
    assert writes(requests) == []  # idempotent: nothing registered, nothing updated
    assert settled.task_definition == first.task_definition and len(revisions()) == 1
    assert any("nothing to do" in line for line in lines)

    updated, lines = run_deploy(deploy_argv(infrastructure, image="registry.example/wwhd:def456"))

    assert updated.registered and updated.service_action == "updated"
    assert updated.changes == ["taskDefinition"]
    assert len(revisions()) == 2 and updated.task_definition.endswith(":2")
    assert service()["taskDefinition"] == updated.task_definition

    grace, _ = run_deploy([*deploy_argv(infrastructure, image="registry.example/wwhd:def456"),
                           "--health-check-grace", "900"])
    assert not grace.registered and grace.changes == ["healthCheckGracePeriodSeconds"]
    assert service()["healthCheckGracePeriodSeconds"] == 900


def test_dry_run_changes_nothing(infrastructure):
    result, lines = run_deploy([*deploy_argv(infrastructure), "--dry-run"])

    assert result.dry_run and result.service_action == "created"
    assert revisions() == [] and service() == {}
    output = "\n".join(lines)
    assert "would register a new revision of wwhd" in output
    assert "would create service wwhd in cluster wwhd" in output
    assert '"image": "registry.example/wwhd:abc123"' in output

    run_deploy(deploy_argv(infrastructure))
    before = service()["taskDefinition"]
    result, lines = run_deploy([*deploy_argv(infrastructure, image="x/wwhd:new"), "--dry-run"])

    assert result.service_action == "updated"
    assert any("would update service wwhd: taskDefinition" in line for line in lines)
    assert len(revisions()) == 1 and service()["taskDefinition"] == before


def test_deploy_commands_run_and_explain_failures(infrastructure, aws, tmp_path):
    env = dict(os.environ)
    apply_aws_environment(env, aws_environment(aws, tmp_path))
    script = subprocess.run(
        [sys.executable, str(DEPLOY / "deploy.py"), *deploy_argv(infrastructure), "--dry-run"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert script.returncode == 0, script.stderr
    assert "dry run: nothing was changed" in script.stdout

    via_wwhd = subprocess.run(
        [str(BIN / "wwhd"), "deploy", *deploy_argv(infrastructure), "--cluster", "absent"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert via_wwhd.returncode == 2
    assert "ECS cluster 'absent' does not exist" in via_wwhd.stderr
    assert "aws ecs create-cluster --cluster-name absent" in via_wwhd.stderr

    bad = [*deploy_argv(infrastructure), "--secret-arn", "wwhd/prod"]
    rejected = subprocess.run(
        [sys.executable, str(DEPLOY / "deploy.py"), *bad],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert rejected.returncode == 2 and "--secret-arn 'wwhd/prod'" in rejected.stderr
    assert revisions() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--jwt-jwks-url", "http://idp.example.com/jwks"], "must be an https:// URL"),
        (["--jwt-jwks-url", "https://idp.example.com/jwks", "--jwt-issuer", "x"],
         "needs --jwt-issuer and --jwt-audience"),
        (["--cors-allow-origins", "https://app.example.com/"], "no path or slash"),
    ],
)
def test_browser_and_identity_provider_options_are_checked(infrastructure, options, message):
    with pytest.raises(deploy_module.DeployError, match=message):
        deploy_module.check_options(parse([*deploy_argv(infrastructure), *options]))


# -- the container's start command, outside Docker ---------------------------------------------


def entrypoint_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The image's environment (see Dockerfile), with test paths and a loopback port."""
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("WWHD_", "AWS_", "LANGSMITH_", "LANGCHAIN_"))
        and name not in ("JWT_SECRET", "OPENAI_API_KEY", "QDRANT_URL", "APP_ENV", "PORT", "HOST")
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        APP_ENV="production", HOST="127.0.0.1", PORT=str(free_port()),
        WWHD_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1",
        LANGGRAPH_CLI_NO_ANALYTICS="1", LANGGRAPH_NO_VERSION_CHECK="true",
    )
    env.update(overrides)
    return env


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "APP_ENV=production needs JWT_SECRET"),
        ({"JWT_SECRET": "j", "PORT": "80a"}, "PORT=80a is not a port number"),
        ({"JWT_SECRET": "j", "PORT": "70000"}, "must be between 1 and 65535"),
        ({"JWT_SECRET": "j", "APP_ENV": "staging"}, "APP_ENV=staging must be development"),
        ({"JWT_SECRET": "j", "QDRANT_URL": "localhost:6333"}, "must start with http://"),
        ({"JWT_SECRET": "j", "WWHD_DATA_DIR": "/dev/null/data"}, "cannot create WWHD_DATA_DIR"),
        ({"JWT_SECRET": "j", "PATH": "/usr/bin:/bin"}, "the wwhd command is not on PATH"),
    ],
)
def test_entrypoint_fails_fast_with_a_clear_message(tmp_path, overrides, message):
    env = entrypoint_env(tmp_path, **overrides)
    started = time.monotonic()
    result = subprocess.run(
        ["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 64, result.stderr
    assert message in result.stderr
    assert time.monotonic() - started < 5  # nothing heavy was loaded before refusing


@pytest.mark.integration
def test_container_start_command_serves_health_and_stops_on_sigterm(aws, tmp_path):
    """deploy/entrypoint.sh as the image runs it: JWT_SECRET from Secrets Manager, documents
    synced from S3 (both moto), a tiny corpus, a temporary /data; then SIGTERM as ECS sends it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in DOCS:
        shutil.copy(path, corpus / path.name)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="wwhd-docs")
    for path in DOCS:
        s3.put_object(Bucket="wwhd-docs", Key=f"kb/{path.name}", Body=path.read_bytes())
    boto3.client("secretsmanager").create_secret(
        Name="wwhd/runtime", SecretString=json.dumps({"JWT_SECRET": JWT_FROM_SECRET})
    )
    env = entrypoint_env(
        tmp_path, WWHD_CORPUS_DIR=str(corpus), WWHD_SECRETS_ID="wwhd/runtime",
        WWHD_INGEST_URI="s3://wwhd-docs/kb", **aws_environment(aws, tmp_path),
    )
    data, url = Path(env["WWHD_DATA_DIR"]), f"http://127.0.0.1:{env['PORT']}"
    log_path = tmp_path / "entrypoint.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["sh", str(ENTRYPOINT)], env=env, cwd=tmp_path, stdout=log,
            stderr=subprocess.STDOUT,
        )
    token = jwt.encode(
        {"sub": "deploy-test", "exp": int(time.time()) + 600}, JWT_FROM_SECRET, algorithm="HS256",
    )
    try:
        health = wait_for_health(process, url, log_path, token)
        assert health["status"] == "ok", health
        assert health["vector_store"]["points"] == 8  # 2 documents x 4 sections, from S3
        assert health["checkpointer"]["path"] == str(data / "checkpoints.sqlite")

        probe = subprocess.run(
            [sys.executable, str(DEPLOY / "healthcheck.py")], env=env, timeout=30,
        )
        assert probe.returncode == 0  # the image's HEALTHCHECK command

        created = httpx.post(
            f"{url}/threads", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert created.status_code == 200, created.text

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)  # what `docker stop` and ECS send first
        # uvicorn shuts down gracefully, then re-raises the signal it caught (exit 143 in ECS).
        assert process.wait(timeout=ECS_STOP_TIMEOUT_S) == -signal.SIGTERM
        assert time.monotonic() - started < ECS_STOP_TIMEOUT_S
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    output = log_path.read_text()
    assert "Application shutdown complete" in output and "Traceback" not in output
    assert "syncing documents from s3://wwhd-docs/kb" in output
    assert "2 downloaded (new or changed)" in output
    # Every piece of state is under the data folder, and the thread records were flushed.
    assert (data / "checkpoints.sqlite").is_file() and (data / "qdrant-edge").is_dir()
    records = data / ".langgraph_api" / ".langgraph_ops.pckl"
    with records.open("rb") as file:
        saved = repr(pickle.load(file))  # the runtime's own format: the test reads it only
    assert created.json()["thread_id"] in saved


def wait_for_health(process: subprocess.Popen, url: str, log_path: Path, token: str) -> dict:
    """The readiness report, with details (the token), once the server answers 200."""
    answered: dict = {}

    def ready() -> bool:
        try:
            response = httpx.get(f"{url}/health", timeout=10,
                                 headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError:
            return False
        answered.update(response.json() if response.status_code == 200 else {})
        return response.status_code == 200

    try:
        wait_until(ready, 240, process=process, what="the entrypoint", log_path=log_path)
    except ProcessFailed as exc:
        pytest.fail(str(exc))
    return answered


# -- cluster mode ------------------------------------------------------------------------------

CLUSTER_VALUES = {
    **{key: value for key, value in SAMPLE_VALUES.items()
       if key not in ("EFS_FILE_SYSTEM_ID", "EFS_ACCESS_POINT_ID", "DOCUMENTS_URI")},
    "QDRANT_SNAPSHOT_URI": "s3://wwhd-kb/snapshots/wwhd_kb.snapshot",
    "AWS_CLI_IMAGE": deploy_module.DEFAULT_AWS_CLI_IMAGE,
}


def cluster_argv(infra: dict[str, str], *more: str) -> list[str]:
    return [
        "--mode", "cluster", "--image", "registry.example/wwhd:abc123",
        "--target-group-arn", infra["target_group"], "--subnets", infra["subnets"],
        "--security-groups", infra["security_groups"], "--secret-arn", infra["secret"],
        "--qdrant-snapshot-uri", CLUSTER_VALUES["QDRANT_SNAPSHOT_URI"], *more,
    ]


def test_cluster_task_definition_matches_the_ecs_api_and_shares_no_volume():
    assert deploy_module.placeholders(deploy_module.CLUSTER_TEMPLATE) == set(CLUSTER_VALUES)
    taskdef = deploy_module.render_task_definition(CLUSTER_VALUES, deploy_module.CLUSTER_TEMPLATE)
    deploy_module.validate_task_definition(taskdef)
    api, qdrant, snapshot = taskdef["containerDefinitions"]
    # Thread state is in PostgreSQL: no task mounts a shared file system.
    assert all("efsVolumeConfiguration" not in volume for volume in taskdef["volumes"])
    secrets = {secret["name"] for secret in api["secrets"]}
    assert {"DATABASE_URL", "REDIS_URL", "JWT_SECRET"} <= secrets
    assert not {"DATABASE_URL", "REDIS_URL"} & {e["name"] for e in api["environment"]}
    # The sidecar starts from the snapshot the init container copied, then the API starts.
    assert qdrant["dependsOn"] == [{"containerName": "snapshot", "condition": "SUCCESS"}]
    assert "/snapshots/wwhd_kb.snapshot:wwhd_kb" in qdrant["command"]
    assert snapshot["essential"] is False
    assert CLUSTER_VALUES["QDRANT_SNAPSHOT_URI"] in snapshot["command"]
    assert api["dependsOn"] == [{"containerName": "qdrant", "condition": "HEALTHY"}]


@pytest.mark.parametrize(
    ("mode_options", "message"),
    [
        (["--desired-count", "2"], "single mode runs 1 task"),
        (["--mode", "cluster", "--desired-count", "1", "--qdrant-snapshot-uri", "s3://b/k"],
         "cluster mode runs 2 or more tasks"),
        (["--mode", "cluster"], "needs --qdrant-snapshot-uri"),
        (["--mode", "cluster", "--qdrant-snapshot-uri", "s3://b/k", "--max-count", "1"],
         "--max-count 1 is below"),
    ],
)
def test_each_mode_refuses_the_task_counts_it_cannot_run(infrastructure, mode_options,
                                                         message):
    argv = deploy_argv(infrastructure)[:-2]  # without --documents-uri (single mode only)
    with pytest.raises(deploy_module.DeployError, match=message):
        deploy_module.check_options(parse([*argv, *mode_options]))


def test_cluster_deploy_runs_replicas_rolling_and_auto_scaled(infrastructure):
    requests: list = []
    result, lines = run_deploy(cluster_argv(infrastructure, "--max-count", "5"), requests)

    assert result.service_action == "created"
    create = dict(requests)["CreateService"]
    assert create["desiredCount"] == 2
    assert create["deploymentConfiguration"]["maximumPercent"] == 200
    assert create["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    registered = boto3.client("ecs").describe_task_definition(taskDefinition="wwhd")
    assert [c["name"] for c in registered["taskDefinition"]["containerDefinitions"]] == [
        "api", "qdrant", "snapshot"]
    scaling = boto3.client("application-autoscaling")
    target = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    assert target["ResourceId"] == "service/wwhd/wwhd"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 5)
    policy = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"][0]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "ECSServiceAverageCPUUtilization")
    assert any("auto-scaling service/wwhd/wwhd: 2 to 5 tasks" in line for line in lines)

    scaled, _ = run_deploy(cluster_argv(infrastructure, "--desired-count", "3",
                                        "--max-count", "5"))
    assert "desiredCount" in scaled.changes
    assert service()["desiredCount"] == 3
