"""Checks that the Terraform example grants what template.yaml grants.

Reads the policies of template.yaml's function roles (RotationFunctionRole
for the database function, ApiKeyRotatorRole for the API key function;
through cfn-lint's decoder, which understands the intrinsic functions) and
the
`aws_iam_policy_document "rotate"` of examples/terraform/main.tf (through
python-hcl2), and compares them statement by statement (by Sid): the same
actions, on the resource from the matching parameter/variable, conditional
in both or in neither, with the same condition keys. The Terraform
example deploys any one rotator, so it holds every statement of either
role, and a statement both roles hold must be the same in both. Statements
about the
function's own logs and VPC are compared too: both deployments create the
function. Also checks that the two inline policy names cannot
collide on one role (the SAM names hold the stack name). Prints each
difference and exits 1 if there is any.

    .venv/bin/python scripts/check_iam_sync.py
"""

import re
import sys
from pathlib import Path

import hcl2
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
# Both deployments create the function, so every statement is compared,
# the function's own log and VPC statements included.
OWN_LOG_GROUP = "the function's own log group"
# SAM parameter -> Terraform variable naming the same resource.
RESOURCES = {
    "RotatedSecretArns": "secret_arns",
    "ApiKeySecretArns": "secret_arns",
    "IamUserNames": "iam_user_names",
    "HttpAdminSecretArn": "admin_secret_arn",
    "MasterSecretArn": "master_secret_arn",
    "KmsKeyArn": "kms_key_arn",
    "MasterKmsKeyArn": "master_kms_key_arn",
    "SubnetIds": "subnet_ids",
}


def refs(value):
    """The parameters an expression refers to, however deep."""
    if isinstance(value, dict):
        if "Ref" in value:
            return [value["Ref"]]
        return [r for v in value.values() for r in refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs(v)]
    return []


def is_log_group(resource):
    """A function's log group (`!GetAtt XLogGroup.Arn`), also when only a
    condition deploys that function (`!If [C, !GetAtt ..., NoValue]`)."""
    if isinstance(resource, dict) and "Fn::If" in resource:
        _, when, _ = resource["Fn::If"]
        return is_log_group(when)
    return (
        isinstance(resource, dict)
        and "Fn::GetAtt" in resource
        and resource["Fn::GetAtt"][0].endswith("LogGroup")
    )


def sam_resource(resource):
    """A parameter's resource by its Terraform variable (also when built
    from the parameter, as the IAM users' ARNs are), the function's log
    group by name, a literal ("*") as written."""
    if isinstance(resource, list) and resource and all(map(is_log_group, resource)):
        return OWN_LOG_GROUP
    if isinstance(resource, list) and len(resource) == 1:
        resource = resource[0]
    if isinstance(resource, dict) and "Ref" in resource:
        return RESOURCES.get(resource["Ref"], resource["Ref"])
    parameters = [r for r in refs(resource) if r in RESOURCES]
    if parameters and len(set(parameters)) == 1:
        return RESOURCES[parameters[0]]
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        if resource["Fn::GetAtt"][0].endswith("LogGroup"):
            return OWN_LOG_GROUP
    return resource


def unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def as_list(value):
    return value if isinstance(value, list) else [value]


ROLES = ["RotationFunctionRole", "ApiKeyRotatorRole"]


def load_sam_roles():
    """The function roles' properties, from template.yaml."""
    template, matches = decode(str(ROOT / "template.yaml"))
    if matches:
        sys.exit(f"template.yaml does not parse: {matches}")
    return {name: template["Resources"][name]["Properties"] for name in ROLES}


def load_terraform():
    with open(ROOT / "examples/terraform/main.tf") as f:
        return hcl2.load(f)


def sam_statements(role):
    statements = {}
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            conditional = False
            if isinstance(statement, dict) and "Fn::If" in statement:
                _, statement, _ = statement["Fn::If"]
                conditional = True
            statements[statement["Sid"]] = {
                "actions": sorted(as_list(statement["Action"])),
                "resource": sam_resource(statement["Resource"]),
                "conditional": conditional,
                "condition_keys": sorted(
                    key
                    for test in statement.get("Condition", {}).values()
                    for key in test
                ),
            }
    return statements


def terraform_statements(main):
    document = None
    for block in main["data"]:
        for kind, named in block.items():
            if unquote(kind) == "aws_iam_policy_document":
                document = named.get('"rotate"') or named.get("rotate")
    if document is None:
        sys.exit('main.tf has no data "aws_iam_policy_document" "rotate"')

    def describe(statement, conditional, variable):
        return {
            "actions": sorted(unquote(a) for a in statement["actions"]),
            "resource": variable,
            "conditional": conditional,
            "condition_keys": sorted(
                unquote(c["variable"]) for c in statement.get("condition", [])
            ),
        }

    def resource_of(resources):
        # resources = var.NAME, or the log group's ARN.
        text = ",".join(unquote(r) for r in as_list(resources))
        if "aws_cloudwatch_log_group." in text:
            return OWN_LOG_GROUP
        return text.removeprefix("${var.").removesuffix("}")

    statements = {}
    for statement in document.get("statement", []):
        statements[unquote(statement["sid"])] = describe(
            statement, False, resource_of(statement["resources"])
        )
    for dynamic in document.get("dynamic", []):
        for body in dynamic.values():
            # for_each = var.NAME == "" ? [] : [var.NAME], or
            # length(var.NAME) == 0 ? [] : [...]
            variable = body["for_each"].split("var.")[1].split()[0].rstrip(")")
            for statement in body["content"]:
                # resources = [statement.value], or ARNs built from
                # var.NAME, is the variable; anything else is a literal.
                literal = [unquote(r) for r in as_list(statement["resources"])]
                built = any("statement.value" in r or f"var.{variable}" in r for r in literal)
                resource = variable if built else ",".join(literal)
                statements[unquote(statement["sid"])] = describe(statement, True, resource)
    return statements


def sam_policy_names(role):
    """The role's inline policy names, with ${AWS::StackName} as a wildcard."""
    names = []
    for policy in role["Policies"]:
        name = policy["PolicyName"]
        if isinstance(name, dict):
            name = name.get("Fn::Sub")
        if not isinstance(name, str):
            sys.exit(f"template.yaml: a policy name this check cannot read: {name}")
        names.append(name)
    return names


def terraform_policy_names(main):
    names = []
    for block in main.get("resource", []):
        for kind, named in block.items():
            if unquote(kind) == "aws_iam_role_policy":
                for body in named.values():
                    names.append(unquote(body["name"]))
    return names


def could_collide(sam_name, terraform_name):
    """Whether some stack name makes the SAM name equal the Terraform one."""
    pattern = re.escape(sam_name).replace(re.escape("${AWS::StackName}"), ".+")
    return re.fullmatch(pattern, terraform_name) is not None


def main():
    roles, main_tf = load_sam_roles(), load_terraform()
    terraform = terraform_statements(main_tf)
    problems = []
    sam = {}
    for name, role in roles.items():
        for sid, statement in sam_statements(role).items():
            if sid in sam and sam[sid] != statement:
                problems.append(f"{sid}: differs between the template's roles: {sam[sid]} != {name} {statement}")
            sam.setdefault(sid, statement)
    # Two inline policies of one name on one role: the last writer wins,
    # and the SAM policy holds the function's log and VPC permissions.
    sam_names = [n for role in roles.values() for n in sam_policy_names(role)]
    for sam_name in sam_names:
        for terraform_name in terraform_policy_names(main_tf):
            if could_collide(sam_name, terraform_name):
                problems.append(
                    f"policy name {terraform_name!r} in main.tf can equal template.yaml's {sam_name!r}"
                )
    for sid in sorted(set(sam) | set(terraform)):
        if sid not in terraform:
            problems.append(f"{sid}: in template.yaml, missing from main.tf")
        elif sid not in sam:
            problems.append(f"{sid}: in main.tf, missing from template.yaml")
        elif sam[sid] != terraform[sid]:
            problems.append(f"{sid}: template.yaml {sam[sid]} != main.tf {terraform[sid]}")
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f"{len(terraform)} statements in step: {', '.join(sorted(terraform))}")


if __name__ == "__main__":
    main()
