# The orders key was removed from this module; the imported key is still here
# but its count went to zero.
variable "enable_imported" {
  type    = bool
  default = false
}

resource "aws_kms_external_key" "imported" {
  count       = var.enable_imported ? 1 : 0
  description = "imported key material"
}
