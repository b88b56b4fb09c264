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
