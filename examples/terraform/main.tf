# Deploys a rotation function and attaches secrets to it: an execution role
# with the policy statements of template.yaml's function roles (a test keeps
# them in step), the function's log group, the function from the
# release zip (scripts/release.sh), the permission for Secrets
# Manager to invoke it, and a rotation schedule per secret.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

resource "aws_iam_role" "rotator" {
  name_prefix = "${var.function_name}-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_cloudwatch_log_group" "rotator" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
}

data "aws_iam_policy_document" "rotate" {
  statement {
    sid = "RotateTheNamedSecrets"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ]
    resources = var.secret_arns
  }

  dynamic "statement" {
    for_each = var.master_secret_arn == "" ? [] : [var.master_secret_arn]
    content {
      sid       = "ReadTheMasterSecret"
      actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  # An RDS-managed master secret holds no address: the function asks RDS
  # where its instance or cluster is (these actions take no resource scope).
  dynamic "statement" {
    for_each = var.master_secret_arn == "" ? [] : [var.master_secret_arn]
    content {
      sid       = "LocateRdsManagedMasters"
      actions   = ["rds:DescribeDBClusters", "rds:DescribeDBInstances"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == "" ? [] : [var.kms_key_arn]
    content {
      sid       = "UseTheSecretsKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.master_kms_key_arn == "" ? [] : [var.master_kms_key_arn]
    content {
      sid       = "UseTheMasterSecretsKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }

  # api-key-rotator's HTTP provider: the provider's admin key.
  dynamic "statement" {
    for_each = var.admin_secret_arn == "" ? [] : [var.admin_secret_arn]
    content {
      sid       = "ReadTheAdminSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  # api-key-rotator's IAM access keys: the named users only, at any path
  # (a user name is unique in an account whatever its path). STS
  # GetCallerIdentity, which proves a key, needs no permission.
  dynamic "statement" {
    for_each = length(var.iam_user_names) == 0 ? [] : [1]
    content {
      sid = "ManageTheNamedUsersAccessKeys"
      actions = [
        "iam:GetUser",
        "iam:ListAccessKeys",
        "iam:CreateAccessKey",
        "iam:UpdateAccessKey",
        "iam:DeleteAccessKey",
        # Records of the keys the rotation made or proved: the only keys
        # it may delete.
        "iam:TagUser",
        "iam:UntagUser",
        "iam:ListUserTags",
      ]
      resources = flatten([
        for user in var.iam_user_names : [
          "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:user/${user}",
          "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:user/*/${user}",
        ]
      ])
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.rotator.arn}:*"]
  }

  # Lambda attaches the function to the subnets through network interfaces
  # it creates with the function's role (no resource scope).
  dynamic "statement" {
    for_each = length(var.subnet_ids) == 0 ? [] : ["*"]
    content {
      sid = "AttachToTheVpc"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }
}

# Not the SAM template's policy name (<stack>-rotate-secrets): two inline
# policies of one name on one role replace each other.
# scripts/check_iam_sync.py fails if the names could collide.
resource "aws_iam_role_policy" "rotate" {
  name   = "rotate-secrets-attached-by-terraform"
  role   = aws_iam_role.rotator.id
  policy = data.aws_iam_policy_document.rotate.json
}

resource "aws_lambda_function" "rotator" {
  function_name    = var.function_name
  description      = "Rotates secrets in AWS Secrets Manager (rotation-lambdas)."
  role             = aws_iam_role.rotator.arn
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  # The zip's architecture: <rotator>-<version>-<architecture>.zip
  architectures = [var.architecture]
  memory_size   = 128
  timeout       = 30
  # For example a layer holding a CA bundle for DB_CA_BUNDLE (under /opt).
  layers = var.layers

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.rotator.name
    application_log_level = var.log_level
    # INFO keeps Lambda's START and REPORT lines (duration, memory).
    system_log_level = "INFO"
  }

  dynamic "vpc_config" {
    for_each = length(var.subnet_ids) == 0 ? [] : [1]
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }

  environment {
    # settings first: later maps win, so the settings the role's policy
    # follows come from their own variables (and settings may not name
    # them: variables.tf).
    variables = merge(
      var.settings,
      var.master_secret_arn == "" ? {} : { MASTER_SECRET_ARNS = var.master_secret_arn },
      var.secrets_manager_endpoint == "" ? {} : { SECRETS_MANAGER_ENDPOINT = var.secrets_manager_endpoint },
      length(var.iam_user_names) == 0 ? {} : { IAM_USERS = join(",", var.iam_user_names) },
      var.admin_secret_arn == "" ? {} : { HTTP_AUTH = "admin", HTTP_ADMIN_SECRET_ARN = var.admin_secret_arn },
    )
  }

  lifecycle {
    precondition {
      condition     = length(var.subnet_ids) == 0 || length(var.security_group_ids) > 0
      error_message = "security_group_ids is required with subnet_ids: without a security group the function has no network in the VPC."
    }
  }

  depends_on = [aws_iam_role_policy.rotate]
}

# Secrets Manager may invoke the function for these secrets only, so that
# nobody who may call RotateSecret on another secret of the account can
# point it here (invoke_scope). Counted, as the schedules below.
resource "aws_lambda_permission" "secrets_manager" {
  count          = var.invoke_scope == "secrets" ? length(var.secret_arns) : 0
  statement_id   = "AllowSecretsManagerInvoke${count.index}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.rotator.function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = data.aws_caller_identity.current.account_id
  source_arn     = var.secret_arns[count.index]
}

# invoke_scope = "account": one permission for any secret of the account,
# for more secrets than a resource policy holds.
resource "aws_lambda_permission" "secrets_manager_account" {
  count          = var.invoke_scope == "account" ? 1 : 0
  statement_id   = "AllowSecretsManagerInvoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.rotator.function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = data.aws_caller_identity.current.account_id
}

# Counted, not `for_each = toset(var.secret_arns)`: for_each needs its keys
# at plan time, and the ARN of a secret created in the same configuration
# is known only after apply, so the first plan would fail. The list's
# length is known.
resource "aws_secretsmanager_secret_rotation" "this" {
  count               = length(var.secret_arns)
  secret_id           = var.secret_arns[count.index]
  rotation_lambda_arn = aws_lambda_function.rotator.arn
  # false: Secrets Manager only runs testSecret now, to check the set-up;
  # the first rotation comes with the schedule.
  rotate_immediately = var.rotate_immediately

  rotation_rules {
    schedule_expression = var.schedule_expression
    duration            = var.rotation_window
  }

  depends_on = [aws_lambda_permission.secrets_manager, aws_lambda_permission.secrets_manager_account]
}

# Monitoring, on whether or not a topic is given (as template.yaml): an
# alarm on the function's errors, and one on the rotations of these secrets
# that Secrets Manager reports failed or abandoned; with alarm_topic_arn,
# the error alarm and the rule tell the topic. Overdue rotations:
# `rotate status` (README).
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.function_name}-errors"
  alarm_description   = "The rotation function ${var.function_name} failed a step."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.rotator.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]
}

# Only these secrets, so that two deployments in one region do not report
# each other's failures. EventBridge matches the ARN by prefix: the
# `-??????` form becomes the prefix before the random suffix.
resource "aws_cloudwatch_event_rule" "rotation_failed" {
  name_prefix = "${substr(var.function_name, 0, 30)}-failed-"
  description = "Rotations by ${var.function_name} that failed or were abandoned."
  event_pattern = jsonencode({
    source        = ["aws.secretsmanager"]
    "detail-type" = ["AWS Service Event via CloudTrail"]
    detail = {
      eventSource         = ["secretsmanager.amazonaws.com"]
      eventName           = ["RotationFailed", "RotationAbandoned"]
      additionalEventData = { SecretId = [for arn in var.secret_arns : { prefix = replace(arn, "?", "") }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "alarm_topic" {
  count = var.alarm_topic_arn == "" ? 0 : 1
  rule  = aws_cloudwatch_event_rule.rotation_failed.name
  arn   = var.alarm_topic_arn
}

resource "aws_cloudwatch_metric_alarm" "rotation_failed" {
  alarm_name          = "${var.function_name}-rotation-failed"
  alarm_description   = "Secrets Manager reported a failed or abandoned rotation by ${var.function_name}."
  namespace           = "AWS/Events"
  metric_name         = "MatchedEvents"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.rotation_failed.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  # No action: with a topic, the rule itself sends it the event, which
  # names the secret.
}
