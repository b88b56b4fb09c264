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
  take layers (`Layers`, Terraform's `layers`) to bring one.

Prints each failure and exits 1 if there is any.

    .venv/bin/python scripts/check_deployment.py
"""

import json
import re
import sys
from pathlib import Path

import hcl2
from cfnlint.decode import decode

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
    for message in FAILURES:
        print(f"FAIL: {message}")
    if FAILURES:
        sys.exit(1)
    print("deployment checks passed: log groups, monitoring, Terraform plan, layers")


if __name__ == "__main__":
    main()
