# An older copy of the root module: same resource names, not the one planned.
resource "aws_kms_key" "payments" {
  description = "payments (legacy)"
}
