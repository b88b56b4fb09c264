output "rotation_lambda_arn" {
  description = "The function the secrets rotate with."
  value       = data.aws_lambda_function.rotator.arn
}
