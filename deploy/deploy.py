"""Deploy W.W.H.D. to ECS Fargate: register the task definition, then create or update the service.

    python deploy/deploy.py --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/wwhd:GIT_SHA \\
        --target-group-arn ARN --subnets subnet-a,subnet-b --security-groups sg-1 \\
        --efs-file-system-id fs-1 --efs-access-point-id fsap-1 --secret-arn ARN \\
        [--documents-uri s3://bucket/prefix] [--cors-allow-origins https://app.example.com] \\
        [--jwt-jwks-url URL --jwt-issuer ISS --jwt-audience AUD] [--dry-run]

(also `wwhd deploy ...`). `--dry-run` prints the task definition and what would change, and
changes nothing (it still reads the cluster and the service to say create or update).

Re-running is safe: the task definition is tagged with a hash of its content, so an unchanged
one is not registered again, and a service already running it with the same settings is left
alone. Use immutable image tags (a commit hash): a re-pushed tag is not a change to this script
(`--force-new-deployment` makes the service pull it again).

Two modes (`--mode`):

- `single` (default): one task, replaced stop-first (maximumPercent 100, minimumHealthyPercent 0):
  the inmem runtime keeps threads in one process, and two tasks writing the same SQLite and
  thread files on EFS would corrupt them. A deployment therefore has about a minute of downtime.
- `cluster`: the API as replicas of wwhd's cluster mode (task-definition-cluster.json): threads,
  runs and checkpoints in PostgreSQL (RDS), runs and streams through Redis (ElastiCache), both
  named by the secret's DATABASE_URL and REDIS_URL. `--desired-count` tasks (2 or more), rolling
  deploys that start new tasks before stopping old ones (maximumPercent 200,
  minimumHealthyPercent 100), and target-tracking auto-scaling on the tasks' average CPU between
  `--desired-count` and `--max-count`. Each task's Qdrant sidecar starts from a collection
  snapshot in S3 (`--qdrant-snapshot-uri`), not by re-embedding the documents.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().with_name("task-definition.json")
CLUSTER_TEMPLATE = Path(__file__).resolve().with_name("task-definition-cluster.json")
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
HASH_TAG = "wwhd:content-sha256"
API_CONTAINER = "api"
API_PORT = 8000
DEFAULT_QDRANT_IMAGE = "qdrant/qdrant:v1.19.0"
DEFAULT_LOG_GROUP = "/ecs/wwhd"
DEFAULT_AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.27.50"
DEPLOYMENT_CONFIGURATION = {
    "maximumPercent": 100,
    "minimumHealthyPercent": 0,
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
}
# Rolling: new tasks pass the ALB health check before old ones are drained and stopped.
CLUSTER_DEPLOYMENT_CONFIGURATION = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
}
SCALING_POLICY = "wwhd-cpu-target"
SCALING_CPU_TARGET = 60.0


class DeployError(RuntimeError):
    """The deployment cannot go ahead; the message says what to fix."""


@dataclass
class DeployResult:
    """What a deployment did (or, with dry_run, would do)."""

    task_definition: str
    registered: bool
    service_action: str  # "created", "updated" or "unchanged"
    changes: list[str]
    dry_run: bool


# -- the task definition -----------------------------------------------------------------------


def render_task_definition(
    values: Mapping[str, str], template: Path = TEMPLATE
) -> dict[str, Any]:
    """The task definition with every ${NAME} filled in (environment entries left empty are
    dropped, so optional settings such as WWHD_INGEST_URI can be omitted)."""
    text = template.read_text()
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise DeployError(f"no value for {', '.join(missing)} in {template.name}")
    # JSON-escape each value, since it lands inside a JSON string.
    filled = PLACEHOLDER.sub(lambda m: json.dumps(str(values[m.group(1)]))[1:-1], text)
    taskdef = json.loads(filled)
    for container in taskdef["containerDefinitions"]:
        if "environment" in container:
            container["environment"] = [e for e in container["environment"] if e["value"]]
    return taskdef


def placeholders(template: Path = TEMPLATE) -> set[str]:
    """The ${NAMES} the template expects."""
    return set(PLACEHOLDER.findall(template.read_text()))


def validate_task_definition(taskdef: Mapping[str, Any]) -> None:
    """Check `taskdef` against botocore's ECS model (RegisterTaskDefinition's input) and the
    Fargate sizing rules this template relies on; raise DeployError saying what is wrong."""
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    try:
        validate_parameters(dict(taskdef), shape)
    except ParamValidationError as exc:
        raise DeployError(f"the task definition does not match the ECS API: {exc}") from exc
    containers = taskdef["containerDefinitions"]
    cpu = sum(c.get("cpu", 0) for c in containers)
    memory = sum(c.get("memory", 0) for c in containers)
    if cpu > int(taskdef["cpu"]) or memory > int(taskdef["memory"]):
        raise DeployError(
            f"containers ask for {cpu} CPU units / {memory} MiB but the task has "
            f"{taskdef['cpu']} / {taskdef['memory']}"
        )
    names = {c["name"] for c in containers}
    for container in containers:
        for dependency in container.get("dependsOn", []):
            if dependency["containerName"] not in names:
                raise DeployError(f"{container['name']} depends on unknown container "
                                  f"{dependency['containerName']!r}")


def content_hash(taskdef: Mapping[str, Any]) -> str:
    """Hash of the task definition's content (tags excluded), to recognise a re-run."""
    content = {key: value for key, value in taskdef.items() if key != "tags"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


# -- options -----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The deploy options (shared by `python deploy/deploy.py` and `wwhd deploy`)."""
    parser.add_argument("--image", required=True, help="the API image, e.g. ECR_REPO:GIT_SHA")
    parser.add_argument("--cluster", default="wwhd", help="ECS cluster (default: wwhd)")
    parser.add_argument("--service", default="wwhd", help="ECS service (default: wwhd)")
    parser.add_argument("--family", default="wwhd", help="task definition family (default: wwhd)")
    parser.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    parser.add_argument("--account-id", help="AWS account (default: asked from STS)")
    parser.add_argument("--target-group-arn", required=True, help="ALB target group (type ip)")
    parser.add_argument("--subnets", required=True, help="comma-separated subnet ids")
    parser.add_argument("--security-groups", required=True, help="comma-separated group ids")
    parser.add_argument(
        "--assign-public-ip", action="store_true",
        help="give the task a public IP (public subnets without NAT); default: private",
    )
    parser.add_argument(
        "--mode", choices=("single", "cluster"), default="single",
        help="single: one task, SQLite on EFS (default); cluster: replicas on PostgreSQL + "
        "Redis, rolling deploys, auto-scaling",
    )
    parser.add_argument("--efs-file-system-id", default="",
                        help="EFS file system (fs-...); single mode")
    parser.add_argument("--efs-access-point-id", default="",
                        help="EFS access point (fsap-...); single mode")
    parser.add_argument(
        "--secret-arn", required=True,
        help="Secrets Manager secret (full ARN) holding OPENAI_API_KEY and JWT_SECRET (and, in "
        "cluster mode, DATABASE_URL and REDIS_URL)",
    )
    parser.add_argument(
        "--qdrant-snapshot-uri", default="",
        help="s3://bucket/key of the collection's Qdrant snapshot each task starts from; "
        "cluster mode",
    )
    parser.add_argument("--aws-cli-image", default=DEFAULT_AWS_CLI_IMAGE,
                        help="image that copies the snapshot from S3 (cluster mode)")
    parser.add_argument(
        "--documents-uri", default="",
        help="s3://bucket/prefix synced into the collection at each start (WWHD_INGEST_URI)",
    )
    parser.add_argument(
        "--cors-allow-origins", default="",
        help="comma-separated origins of the web apps that call the API from a browser "
        "(WWHD_CORS_ALLOW_ORIGINS); default: none (same-origin only)",
    )
    parser.add_argument(
        "--jwt-jwks-url", default="",
        help="an identity provider's JWKS URL: also accept its RS256/ES256 tokens "
        "(WWHD_JWT_JWKS_URL; needs --jwt-issuer and --jwt-audience)",
    )
    parser.add_argument("--jwt-issuer", default="", help="required 'iss' (WWHD_JWT_ISSUER)")
    parser.add_argument("--jwt-audience", default="", help="required 'aud' (WWHD_JWT_AUDIENCE)")
    parser.add_argument("--qdrant-image", default=DEFAULT_QDRANT_IMAGE)
    parser.add_argument("--log-group", default=DEFAULT_LOG_GROUP)
    parser.add_argument(
        "--desired-count", type=int, default=None,
        help="tasks to run: single mode 1 (serve) or 0 (stop), default 1 (the inmem runtime "
        "cannot run more than one task); cluster mode 2 or more (the auto-scaling minimum; "
        "0 stops it), default 2",
    )
    parser.add_argument("--max-count", type=int, default=6,
                        help="cluster mode: the auto-scaling maximum (default 6)")
    parser.add_argument(
        "--health-check-grace", type=int, default=600, metavar="SECONDS",
        help="seconds the ALB health check is ignored after a start (first ingestion)",
    )
    parser.add_argument(
        "--force-new-deployment", action="store_true",
        help="restart the task even if nothing changed (e.g. a re-pushed image tag)",
    )
    parser.add_argument("--wait", action="store_true", help="wait until the service is stable")
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be done; change nothing"
    )


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def desired_count(args: argparse.Namespace) -> int:
    """The tasks asked for, or the mode's default."""
    if args.desired_count is not None:
        return args.desired_count
    return 2 if args.mode == "cluster" else 1


def check_mode(args: argparse.Namespace) -> None:
    """Reject a task count or an option the mode cannot use, saying why."""
    count = desired_count(args)
    if args.mode == "single":
        if count not in (0, 1):
            raise DeployError(
                f"--desired-count {count}: single mode runs 1 task (or 0 to stop it). The "
                "inmem runtime keeps threads in one process and two tasks would corrupt the "
                "SQLite file on EFS; for more tasks deploy with --mode cluster (PostgreSQL + "
                "Redis, see the README's \"More than one task\")"
            )
        for option, value in (("--efs-file-system-id", args.efs_file_system_id),
                              ("--efs-access-point-id", args.efs_access_point_id)):
            if not value:
                raise DeployError(f"{option} is required in single mode (the data volume)")
        return
    if count == 1 or count < 0:
        raise DeployError(
            f"--desired-count {count}: cluster mode runs 2 or more tasks (one task gains "
            "nothing from a cluster and a deploy or an Availability Zone outage would take it "
            "down), or 0 to stop it"
        )
    if args.max_count < max(count, 2):
        raise DeployError(f"--max-count {args.max_count} is below --desired-count {count}")
    if args.documents_uri:
        raise DeployError("--documents-uri is for single mode; in cluster mode each task's "
                          "Qdrant starts from --qdrant-snapshot-uri instead (the documents are "
                          "embedded once, into that snapshot)")
    if not args.qdrant_snapshot_uri.startswith("s3://"):
        raise DeployError(
            "cluster mode needs --qdrant-snapshot-uri s3://bucket/key: each task's Qdrant "
            "starts from that snapshot of the collection (README: \"More than one task\")"
        )


def check_options(args: argparse.Namespace) -> None:
    """Reject malformed identifiers before any AWS call, naming the option to fix."""
    check_mode(args)
    arn = r"arn:aws[\w-]*:{service}:[\w-]+:\d{{12}}:{resource}.+"
    efs = ([("--efs-file-system-id", [args.efs_file_system_id], r"fs-[0-9a-f]+"),
            ("--efs-access-point-id", [args.efs_access_point_id], r"fsap-[0-9a-f]+")]
           if args.mode == "single" else [])
    checks = [
        *efs,
        ("--secret-arn", [args.secret_arn],
         arn.format(service="secretsmanager", resource="secret:")),
        ("--target-group-arn", [args.target_group_arn],
         arn.format(service="elasticloadbalancing", resource="targetgroup/")),
        ("--subnets", _split(args.subnets) or [""], r"subnet-[0-9a-f]+"),
        ("--security-groups", _split(args.security_groups) or [""], r"sg-[0-9a-f]+"),
    ]
    for option, items, pattern in checks:
        for item in items:
            if not re.fullmatch(pattern, item or ""):
                raise DeployError(f"{option} {item!r} does not look like {pattern}")
    if args.jwt_jwks_url and not args.jwt_jwks_url.startswith("https://"):
        raise DeployError(f"--jwt-jwks-url {args.jwt_jwks_url!r} must be an https:// URL")
    if args.jwt_jwks_url and not (args.jwt_issuer and args.jwt_audience):
        raise DeployError("--jwt-jwks-url needs --jwt-issuer and --jwt-audience (the tokens' "
                          "'iss' and 'aud'), or other applications' tokens would be accepted")
    for origin in _split(args.cors_allow_origins):
        if not re.fullmatch(r"https?://[^/\s]+", origin):
            raise DeployError(f"--cors-allow-origins: {origin!r} is not an origin such as "
                              "https://app.example.com (scheme and host, no path or slash)")
    if args.documents_uri and not args.documents_uri.startswith("s3://"):
        raise DeployError(f"--documents-uri {args.documents_uri!r} must be s3://bucket/prefix")
    if not args.image.strip() or any(c in args.image for c in ' "\\'):
        raise DeployError(f"--image {args.image!r} is not an image reference")
    if args.health_check_grace < 0:
        raise DeployError("--health-check-grace must be 0 or more seconds")


# -- the deployment ----------------------------------------------------------------------------


def deploy(
    args: argparse.Namespace,
    session: Any | None = None,
    out: Callable[[str], None] = print,
) -> DeployResult:
    """Register the task definition if its content changed, then create or update the service."""
    import boto3

    check_options(args)
    session = session or boto3.session.Session(region_name=args.region)
    region = args.region or session.region_name
    if not region:
        raise DeployError("no AWS region: pass --region or set AWS_REGION")
    ecs = session.client("ecs", region_name=region)
    account = args.account_id or session.client("sts", region_name=region).get_caller_identity()[
        "Account"
    ]
    values = {
        "FAMILY": args.family, "ACCOUNT_ID": account, "REGION": region, "IMAGE": args.image,
        "QDRANT_IMAGE": args.qdrant_image, "SECRET_ARN": args.secret_arn,
        "LOG_GROUP": args.log_group,
        "CORS_ALLOW_ORIGINS": ",".join(_split(args.cors_allow_origins)),
        "JWT_JWKS_URL": args.jwt_jwks_url, "JWT_ISSUER": args.jwt_issuer,
        "JWT_AUDIENCE": args.jwt_audience,
    }
    if args.mode == "cluster":
        values |= {"QDRANT_SNAPSHOT_URI": args.qdrant_snapshot_uri,
                   "AWS_CLI_IMAGE": args.aws_cli_image}
        template = CLUSTER_TEMPLATE
    else:
        values |= {"EFS_FILE_SYSTEM_ID": args.efs_file_system_id,
                   "EFS_ACCESS_POINT_ID": args.efs_access_point_id,
                   "DOCUMENTS_URI": args.documents_uri}
        template = TEMPLATE
    taskdef = render_task_definition(values, template)
    digest = content_hash(taskdef)
    taskdef["tags"] = [{"key": HASH_TAG, "value": digest}]
    validate_task_definition(taskdef)
    prefix = "[dry run] " if args.dry_run else ""

    _require_cluster(ecs, args.cluster)
    latest = _latest_task_definition(ecs, args.family)
    if latest and latest["hash"] == digest:
        arn, registered = latest["arn"], False
        out(f"{prefix}task definition {args.family}: unchanged, using {_short(arn)}")
    elif args.dry_run:
        arn, registered = f"{args.family}:<next revision>", True
        out(f"{prefix}would register a new revision of {args.family} (content {digest[:12]}):")
        out(json.dumps(taskdef, indent=2))
    else:
        arn = ecs.register_task_definition(**taskdef)["taskDefinition"]["taskDefinitionArn"]
        registered = True
        out(f"task definition {args.family}: registered {_short(arn)}")

    wanted = _service_settings(args, arn)
    current = _current_service(ecs, args.cluster, args.service)
    if current is None:
        action, changes = "created", ["service"]
        if args.dry_run:
            out(f"{prefix}would create service {args.service} in cluster {args.cluster}:")
            out(json.dumps(wanted, indent=2))
        else:
            ecs.create_service(
                cluster=args.cluster, serviceName=args.service, launchType="FARGATE",
                platformVersion="LATEST", schedulingStrategy="REPLICA",
                deploymentController={"type": "ECS"}, propagateTags="TASK_DEFINITION",
                enableECSManagedTags=True, **wanted,
            )
            out(f"service {args.service}: created in cluster {args.cluster} with {_short(arn)}")
    else:
        changes = _differences(current, wanted)
        if args.force_new_deployment:
            changes.append("forceNewDeployment")
        if not changes:
            action = "unchanged"
            out(f"{prefix}service {args.service}: up to date ({_short(arn)}), nothing to do")
        else:
            action = "updated"
            if args.dry_run:
                out(f"{prefix}would update service {args.service}: {', '.join(changes)}")
            else:
                ecs.update_service(
                    cluster=args.cluster, service=args.service,
                    forceNewDeployment=args.force_new_deployment, **wanted,
                )
                out(f"service {args.service}: updated ({', '.join(changes)})")
    if args.mode == "cluster":
        _scale(session, region, args, out, prefix)
    if args.wait and not args.dry_run and action != "unchanged":
        out(f"waiting for service {args.service} to become stable ...")
        ecs.get_waiter("services_stable").wait(
            cluster=args.cluster, services=[args.service],
            WaiterConfig={"Delay": 15, "MaxAttempts": 80},
        )
        out(f"service {args.service}: stable")
    return DeployResult(arn, registered, action, changes, args.dry_run)


def deployment_configuration(args: argparse.Namespace) -> dict[str, Any]:
    """How the service replaces tasks: stop-first (single) or rolling (cluster)."""
    return CLUSTER_DEPLOYMENT_CONFIGURATION if args.mode == "cluster" else DEPLOYMENT_CONFIGURATION


def _scale(session: Any, region: str, args: argparse.Namespace, out: Callable[[str], None],
           prefix: str) -> None:
    """Register the service with Application Auto Scaling and keep its average CPU near
    SCALING_CPU_TARGET (idempotent: both calls replace what is there)."""
    resource = f"service/{args.cluster}/{args.service}"
    low, high = desired_count(args), args.max_count
    if args.dry_run:
        out(f"{prefix}would scale {resource} between {low} and {high} tasks on average CPU "
            f"{SCALING_CPU_TARGET:.0f}%")
        return
    scaling = session.client("application-autoscaling", region_name=region)
    scaling.register_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=low, MaxCapacity=max(low, high))
    scaling.put_scaling_policy(
        PolicyName=SCALING_POLICY, ServiceNamespace="ecs", ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": SCALING_CPU_TARGET,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "ScaleOutCooldown": 60, "ScaleInCooldown": 300,
        })
    out(f"auto-scaling {resource}: {low} to {high} tasks on average CPU "
        f"{SCALING_CPU_TARGET:.0f}%")


def _service_settings(args: argparse.Namespace, task_definition: str) -> dict[str, Any]:
    """The settings create_service and update_service share."""
    return {
        "taskDefinition": task_definition,
        "desiredCount": desired_count(args),
        "healthCheckGracePeriodSeconds": args.health_check_grace,
        "loadBalancers": [{
            "targetGroupArn": args.target_group_arn,
            "containerName": API_CONTAINER,
            "containerPort": API_PORT,
        }],
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": _split(args.subnets),
            "securityGroups": _split(args.security_groups),
            "assignPublicIp": "ENABLED" if args.assign_public_ip else "DISABLED",
        }},
        "deploymentConfiguration": deployment_configuration(args),
    }


def _differences(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Names of the service settings that differ (order-insensitive for id lists)."""
    changes = []
    if current.get("taskDefinition") != wanted["taskDefinition"]:
        changes.append("taskDefinition")
    for key in ("desiredCount", "healthCheckGracePeriodSeconds"):
        if current.get(key) != wanted[key]:
            changes.append(key)
    balancers = [
        (lb.get("targetGroupArn"), lb.get("containerName"), lb.get("containerPort"))
        for lb in current.get("loadBalancers", [])
    ]
    if balancers != [tuple(lb.values()) for lb in wanted["loadBalancers"]]:
        changes.append("loadBalancers")
    have = current.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    want = wanted["networkConfiguration"]["awsvpcConfiguration"]
    if (
        sorted(have.get("subnets", [])) != sorted(want["subnets"])
        or sorted(have.get("securityGroups", [])) != sorted(want["securityGroups"])
        or have.get("assignPublicIp", "DISABLED") != want["assignPublicIp"]
    ):
        changes.append("networkConfiguration")
    deployment = current.get("deploymentConfiguration", {})
    if any(
        deployment.get(key) != wanted["deploymentConfiguration"][key]
        for key in ("maximumPercent", "minimumHealthyPercent")
    ):
        changes.append("deploymentConfiguration")
    return changes


def _require_cluster(ecs: Any, cluster: str) -> None:
    clusters = ecs.describe_clusters(clusters=[cluster]).get("clusters", [])
    if not any(c.get("status") == "ACTIVE" for c in clusters):
        raise DeployError(
            f"ECS cluster {cluster!r} does not exist (or is inactive): create it once with "
            f"`aws ecs create-cluster --cluster-name {cluster}` (see the README's AWS set-up)"
        )


def _latest_task_definition(ecs: Any, family: str) -> dict[str, str] | None:
    from botocore.exceptions import ClientError

    try:
        found = ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
    except ClientError:
        return None  # no revision registered yet
    tags = {tag["key"]: tag["value"] for tag in found.get("tags", [])}
    if found["taskDefinition"].get("status", "ACTIVE") != "ACTIVE":
        return None
    return {"arn": found["taskDefinition"]["taskDefinitionArn"], "hash": tags.get(HASH_TAG, "")}


def _current_service(ecs: Any, cluster: str, service: str) -> dict[str, Any] | None:
    services = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    for found in services:
        status = found.get("status")
        if status == "ACTIVE":
            if found.get("launchType", "FARGATE") != "FARGATE":
                raise DeployError(
                    f"service {service!r} runs on {found.get('launchType')}, not FARGATE: "
                    "delete it or pass another --service"
                )
            return found
        if status == "DRAINING":
            raise DeployError(
                f"service {service!r} is being deleted (DRAINING): wait until it is gone, "
                "then run this again"
            )
    return None


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


# -- command line ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Run a parsed deploy command; print errors as one line that says what to fix."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        result = deploy(args)
    except DeployError as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"deploy: AWS refused or failed: {exc}", file=sys.stderr)
        return 1
    if result.dry_run:
        print("dry run: nothing was changed")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python deploy/deploy.py`."""
    parser = argparse.ArgumentParser(
        prog="deploy.py", description=(__doc__ or "").split("\n\n")[0],
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
