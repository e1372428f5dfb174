package config

import (
	"fmt"
	"regexp"
	"slices"
)

// regionSyntax is the shape of every AWS region name (us-east-1,
// us-gov-west-1, cn-north-1, eusc-de-east-1, us-isob-east-1).
var regionSyntax = regexp.MustCompile(`^[a-z]{2,4}(-(gov|iso|isob|isoe|isof))?-[a-z]+-[0-9]{1,2}$`)

// knownRegions are the AWS regions that exist as of this release. A name of
// the right shape that is not listed is refused: a typo such as us-east-3
// would otherwise scan nothing and pass the gate. New regions are added here.
var knownRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
	"ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"ca-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1",
	"eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3", "eusc-de-east-1",
	"il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
	"us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-west-1", "us-west-2",
	"us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "us-isof-south-1", "us-isof-east-1",
	"eu-isoe-west-1",
}

// ValidateRegion returns an error unless name is a known AWS region.
func ValidateRegion(name string) error {
	if !regionSyntax.MatchString(name) {
		return fmt.Errorf("%q is not an AWS region name (like us-east-1)", name)
	}
	if !slices.Contains(knownRegions, name) {
		return fmt.Errorf("unknown AWS region %q", name)
	}
	return nil
}
