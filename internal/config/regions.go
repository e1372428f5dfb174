package config

import (
	"fmt"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/partitions"
)

// ValidateRegion returns an error unless name has the shape of a region of
// an AWS partition (aws, aws-cn, aws-us-gov, ...), by the AWS SDK's own
// partition metadata (internal/partitions), not a list kept here.
func ValidateRegion(name string) error {
	if _, _, ok := partitions.Lookup(name); !ok {
		return fmt.Errorf("%q is not an AWS region name (like us-east-1, us-gov-west-1 or cn-north-1)", name)
	}
	return nil
}

// RegionWarning returns a warning for a well-formed region name that the
// pinned AWS SDK does not list, else "". Such a name is still scanned: AWS
// launches regions after a release is built. A name with no endpoint
// behind it (a typo) then fails its targets, which is exit code 3 under
// on-scan-error: fail, never a pass.
func RegionWarning(name string) string {
	p, known, ok := partitions.Lookup(name)
	if !ok || known {
		return ""
	}
	return fmt.Sprintf("region %s is not a region of partition %s in AWS SDK %s: scanning it anyway (a region newer than this release, or a typo, which fails the scan of that region)",
		name, p.ID, partitions.SDKVersion())
}
