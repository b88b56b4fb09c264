output "rotation_lambda_arn" {
  description = "The function the secrets rotate with."
  value       = aws_lambda_function.rotator.arn
}

output "function_name" {
  description = "The rotation function's name."
  value       = aws_lambda_function.rotator.function_name
}

output "role_name" {
  description = "The function's execution role's name."
  value       = aws_iam_role.rotator.name
}

output "log_group_name" {
  description = "The function's log group."
  value       = aws_cloudwatch_log_group.rotator.name
}

output "alarm_names" {
  description = "The alarms on the function's errors and on failed rotations of its secrets."
  value       = [aws_cloudwatch_metric_alarm.errors.alarm_name, aws_cloudwatch_metric_alarm.rotation_failed.alarm_name]
}
