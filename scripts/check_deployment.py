"""Checks template.yaml and the Terraform example for the deployment traps
that no local rotation can show (issue list in CONTRIBUTING.md, release
tier):

- log groups: a group kept after its stack (Retain) must not have a fixed
  name, or every later deployment of that name fails with "already
  exists"; and a failed first creation must not leave one behind
  (RetainExceptOnCreate);
- monitoring on by default: every function's error alarm and the
  failed-rotation rule and alarm exist whether or not a topic is given,
  and the rule matches this deployment's secrets only; the template's
  event pattern is rendered from sample parameters (both ARN forms) and
  read back as JSON;
- Terraform's first apply: no `for_each` keyed by secret ARNs, which a
  secret created in the same configuration leaves unknown at plan time;
- `DbCaBundle` names a file inside the function: the database functions
  take layers (`Layers`, Terraform's `layers`) to bring one;
- invoke permissions (issue 24, item 5): Secrets Manager may invoke a
  function for the secrets it rotates only: Terraform's one permission per
  secret, the template's `SourceArn` on a function's only secret, or on
  `InvokeSourceArn`'s pattern, which must match every listed secret; the
  template is plain CloudFormation (no `Fn::ForEach`, which SAM CLI builds
  only when told to, and older versions not at all).

Prints each failure and exits 1 if there is any.

    .venv/bin/python scripts/check_deployment.py
"""

import json
import re
import sys
from pathlib import Path

import hcl2
from cfnlint.decode import decode
import fnmatch

ROOT = Path(__file__).resolve().parent.parent
FAILURES = []

# Sample parameters: one secret by full ARN, one in the `-??????` form the
# quick start teaches.
FULL = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app-db-AbC123"
WILDCARD = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:reports-??????"
API_KEY = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:partner-key-??????"


def fail(message):
    FAILURES.append(message)


class Template:
    """template.yaml with just enough of CloudFormation's intrinsic
    functions to render a value for given parameters."""

    def __init__(self, parameters):
        self.doc, matches = decode(str(ROOT / "template.yaml"))
        if matches:
            sys.exit(f"template.yaml does not parse: {matches}")
        self.parameters = {
            name: spec.get("Default", "")
            for name, spec in self.doc["Parameters"].items()
        }
        self.parameters.update(parameters)
        self.parameters["AWS::StackName"] = "stack"
        self.parameters["AWS::NoValue"] = None

    def condition(self, name):
        return self.value(self.doc["Conditions"][name])

    def value(self, node):
        if isinstance(node, list):
            values = [self.value(v) for v in node]
            return [v for v in values if v is not None]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            return {k: self.value(v) for k, v in node.items()}
        ((function, args),) = node.items()
        if function == "Ref":
            value = self.parameters[args]
            if isinstance(value, str) and self.doc["Parameters"].get(args, {}).get(
                "Type"
            ) == "CommaDelimitedList":
                return value.split(",")
            return value
        if function == "Condition":
            return self.condition(args)
        if function == "Fn::If":
            return self.value(args[1] if self.condition(args[0]) else args[2])
        if function == "Fn::Not":
            return not self.value(args[0])
        if function == "Fn::And":
            return all(self.value(a) for a in args)
        if function == "Fn::Equals":
            return self.value(args[0]) == self.value(args[1])
        if function == "Fn::Join":
            return args[0].join(self.value(args[1]))
        if function == "Fn::Select":
            return self.value(args[1])[int(args[0])]
        if function == "Fn::Split":
            return self.value(args[1]).split(args[0])
        if function == "Fn::Sub":
            text, variables = (args, {}) if isinstance(args, str) else args
            values = {k: self.value(v) for k, v in variables.items()}
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: str(values.get(m.group(1), self.parameters.get(m.group(1)))),
                text,
            )
        return {function: self.value(args)}

    def resources(self, kind):
        return {
            name: resource
            for name, resource in self.doc["Resources"].items()
            if resource["Type"] == kind
        }


def check_log_groups(template):
    groups = template.resources("AWS::Logs::LogGroup")
    if len(groups) < 3:
        fail(f"expected a log group per function, found {sorted(groups)}")
    for name, group in groups.items():
        if "LogGroupName" in group.get("Properties", {}):
            fail(
                f"{name} has a fixed LogGroupName: kept after its stack, it makes the next deployment fail with 'already exists'"
            )
        if group.get("DeletionPolicy") != "RetainExceptOnCreate":
            fail(
                f"{name}: DeletionPolicy is {group.get('DeletionPolicy')!r}, not RetainExceptOnCreate"
            )


def check_template_monitoring():
    functions = {
        "PostgresRotatorFunction": None,
        "MysqlRotatorFunction": "HasMysqlFunction",
        "ApiKeyRotatorFunction": "HasApiKeyFunction",
    }
    template = Template({})
    alarms = template.resources("AWS::CloudWatch::Alarm")
    for function, condition in functions.items():
        matching = [
            (name, alarm)
            for name, alarm in alarms.items()
            if alarm["Properties"].get("MetricName") == "Errors"
            and {"Ref": function}
            in [d.get("Value") for d in alarm["Properties"]["Dimensions"]]
        ]
        if len(matching) != 1:
            fail(f"expected one error alarm on {function}, found {len(matching)}")
            continue
        name, alarm = matching[0]
        if alarm.get("Condition") != condition:
            fail(
                f"{name} has condition {alarm.get('Condition')!r}: it must exist whenever {function} does, topic or not"
            )
    rule = template.doc["Resources"].get("RotationFailureRule")
    if rule is None or "Condition" in rule:
        fail("RotationFailureRule must exist, topic or not")
    failure_alarms = [
        name
        for name, alarm in alarms.items()
        if alarm["Properties"].get("MetricName") == "MatchedEvents"
        and "Condition" not in alarm
    ]
    if not failure_alarms:
        fail("no unconditional alarm on the failed-rotation rule's MatchedEvents")

    for with_api_keys in (False, True):
        parameters = {"RotatedSecretArns": f"{FULL},{WILDCARD}"}
        expected = [FULL, WILDCARD.removesuffix("??????")]
        if with_api_keys:
            parameters |= {"ApiKeyProvider": "generated", "ApiKeySecretArns": API_KEY}
            expected.append(API_KEY.removesuffix("??????"))
        template = Template(parameters)
        rule = template.doc["Resources"]["RotationFailureRule"]["Properties"]
        rendered = template.value(rule["EventPattern"])
        if isinstance(rendered, dict):
            pattern = rendered
        else:
            try:
                pattern = json.loads(rendered)
            except ValueError as error:
                fail(f"the rule's event pattern is not JSON ({error}): {rendered}")
                continue
        detail = pattern.get("detail", {})
        secret_ids = detail.get("additionalEventData", {}).get("SecretId")
        if secret_ids != [{"prefix": p} for p in expected]:
            fail(f"the rule matches secrets {secret_ids}, expected prefixes {expected}")
        if detail.get("eventName") != ["RotationFailed", "RotationAbandoned"]:
            fail(f"the rule matches events {detail.get('eventName')}")
        if template.value(rule.get("Targets")):
            fail("without AlarmTopicArn the rule has a target")
    template = Template({"AlarmTopicArn": "arn:aws:sns:eu-west-1:111122223333:ops"})
    rule = template.doc["Resources"]["RotationFailureRule"]["Properties"]
    targets = template.value(rule.get("Targets"))
    if [t["Arn"] for t in targets or []] != ["arn:aws:sns:eu-west-1:111122223333:ops"]:
        fail(f"with AlarmTopicArn the rule's targets are {targets}")


def check_layers():
    """DB_CA_BUNDLE names a file inside the function: the database
    functions take layers to bring one."""
    layer = "arn:aws:lambda:eu-west-1:111122223333:layer:rds-ca:3"
    for parameters, expected in (({}, []), ({"Layers": layer, "MysqlFunction": "true"}, [layer])):
        template = Template(parameters)
        for function in ("PostgresRotatorFunction", "MysqlRotatorFunction"):
            properties = template.doc["Resources"][function]["Properties"]
            layers = template.value(properties.get("Layers")) or []
            if layers != expected:
                fail(f"{function} with {parameters or 'no Layers'} has layers {layers}, expected {expected}")
    functions = resources_of(terraform(), "aws_lambda_function")
    if not all("layers" in f for f in functions.values()):
        fail("Terraform: the function takes no layers")


SECRETS_MANAGER = "secretsmanager.amazonaws.com"


def invoke_permissions(template, function):
    """The permissions of `function` that let Secrets Manager invoke it,
    in a template whose conditions hold for its parameters."""
    found = {}
    for name, resource in template.resources("AWS::Lambda::Permission").items():
        if "Condition" in resource and not template.condition(resource["Condition"]):
            continue
        properties = resource["Properties"]
        if properties.get("FunctionName") not in (
            {"Fn::GetAtt": [function, "Arn"]},
            {"Ref": function},
        ):
            continue
        if properties.get("Principal") != SECRETS_MANAGER:
            fail(f"{name} lets {properties.get('Principal')} invoke {function}")
            continue
        if properties.get("SourceAccount") != {"Ref": "AWS::AccountId"}:
            fail(f"{name} does not hold Secrets Manager to this account (SourceAccount)")
        found[name] = template.value(properties.get("SourceArn"))
    return found


def arn_like(pattern, arn):
    """IAM's ArnLike, which Lambda applies to `AWS:SourceArn`: `*` and `?`
    within the ARN, nothing else special."""
    return fnmatch.fnmatchcase(arn, pattern.replace("[", "[[]"))


def check_invoke_permissions():
    """Item 5 of issue 24: a principal that may call RotateSecret on any
    secret of the account must not be able to point it at these functions,
    wherever CloudFormation can say so: a function with one secret may be
    invoked for it only, one with several for `InvokeSourceArn`'s pattern;
    with neither, the permission is the account's, as AWS's templates
    give, and the role is what limits the function."""
    functions = {
        "PostgresRotatorFunction": "RotatedSecretArns",
        "MysqlRotatorFunction": "RotatedSecretArns",
        "ApiKeyRotatorFunction": "ApiKeySecretArns",
    }
    both = {"MysqlFunction": "true", "ApiKeyProvider": "generated"}
    pattern = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:*"
    other = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:payments-db-XyZ789"
    cases = [
        # (parameters, the SourceArn each function must carry)
        (
            {"RotatedSecretArns": FULL, "ApiKeySecretArns": API_KEY, "ExampleSecretArn": FULL},
            {"RotatedSecretArns": FULL, "ApiKeySecretArns": API_KEY},
        ),
        (
            {"RotatedSecretArns": WILDCARD, "ApiKeySecretArns": API_KEY},
            {"RotatedSecretArns": WILDCARD, "ApiKeySecretArns": API_KEY},
        ),
        # One secret: the pattern does not widen it.
        (
            {"RotatedSecretArns": FULL, "ApiKeySecretArns": API_KEY, "InvokeSourceArn": pattern},
            {"RotatedSecretArns": FULL, "ApiKeySecretArns": API_KEY},
        ),
        (
            {"RotatedSecretArns": f"{FULL},{WILDCARD}", "ApiKeySecretArns": f"{API_KEY},{other}", "InvokeSourceArn": pattern},
            {"RotatedSecretArns": pattern, "ApiKeySecretArns": pattern},
        ),
        (
            {"RotatedSecretArns": f"{FULL},{WILDCARD}", "ApiKeySecretArns": f"{API_KEY},{other}"},
            {"RotatedSecretArns": None, "ApiKeySecretArns": None},
        ),
    ]
    for parameters, expected in cases:
        template = Template(both | parameters)
        for function, secrets in functions.items():
            permissions = invoke_permissions(template, function)
            arns = sorted(map(str, permissions.values()))
            if arns != [str(expected[secrets])]:
                fail(
                    f"{function} with {parameters}: permissions for {arns}, expected one for {expected[secrets]}"
                )
            arn = expected[secrets]
            if arn is not None:
                for secret in template.value({"Ref": secrets}):
                    if not arn_like(arn, secret.replace("??????", "AbCdEf")):
                        fail(f"{function}: SourceArn {arn} does not match its secret {secret}")
        schedule = template.doc["Resources"]["ExampleRotationSchedule"]
        if schedule.get("DependsOn") not in invoke_permissions(template, "PostgresRotatorFunction"):
            fail("ExampleRotationSchedule depends on no permission of its function")
    if arn_like(pattern.replace("*", "app-*"), other):
        fail("arn_like matched a secret outside its pattern")

    tf_permissions = resources_of(terraform(), "aws_lambda_permission")
    scoped = [
        p
        for p in tf_permissions.values()
        if "var.secret_arns[count.index]" in str(p.get("source_arn"))
        and "length(var.secret_arns)" in str(p.get("count"))
    ]
    if len(scoped) != 1:
        fail("Terraform: no permission per secret (count over var.secret_arns, source_arn its ARN)")
    for name, p in tf_permissions.items():
        if "source_arn" not in p and 'var.invoke_scope == "account"' not in str(p.get("count")):
            fail(f"Terraform: aws_lambda_permission.{name} has no source_arn outside invoke_scope account")


def terraform():
    with open(ROOT / "examples/terraform/main.tf") as f:
        return hcl2.load(f)


def resources_of(tf, kind):
    return {
        name: body
        for block in tf.get("resource", [])
        for resource_kind, named in block.items()
        if resource_kind.strip('"') == kind
        for name, body in named.items()
    }


def check_terraform():
    tf = terraform()
    for block in tf.get("resource", []):
        for kind, named in block.items():
            for name, body in named.items():
                for_each = str(body.get("for_each", ""))
                if "secret_arns" in for_each:
                    fail(
                        f"{kind}.{name}: for_each over var.secret_arns ({for_each}) cannot be planned when a secret is created in the same configuration"
                    )
    rules = resources_of(tf, "aws_cloudwatch_event_rule")
    if not any(
        "RotationFailed" in str(r.get("event_pattern")) and "secret_arns" in str(r.get("event_pattern"))
        for r in rules.values()
    ):
        fail("Terraform: no event rule on RotationFailed scoped to var.secret_arns")
    alarms = resources_of(tf, "aws_cloudwatch_metric_alarm")
    metrics = sorted(str(a.get("metric_name")).strip('"') for a in alarms.values())
    if metrics != ["Errors", "MatchedEvents"]:
        fail(f"Terraform alarms on {metrics}, expected Errors and MatchedEvents")
    if any("count" in a for a in alarms.values()):
        fail("Terraform: an alarm depends on a count (it must exist, topic or not)")


def main():
    check_log_groups(Template({}))
    check_template_monitoring()
    check_terraform()
    check_layers()
    check_invoke_permissions()
    for message in FAILURES:
        print(f"FAIL: {message}")
    if FAILURES:
        sys.exit(1)
    print("deployment checks passed: log groups, monitoring, Terraform plan, layers, invoke permissions")


if __name__ == "__main__":
    main()
