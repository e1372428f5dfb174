package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"golang.org/x/sync/errgroup"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// KeyAPI is the part of the KMS client the live lookup calls.
type KeyAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	ListAliases(ctx context.Context, in *kms.ListAliasesInput, optFns ...func(*kms.Options)) (*kms.ListAliasesOutput, error)
}

// Clients returns the KMS client of an account and region, nil when the run
// has no credentials there.
type Clients func(account, region string) KeyAPI

// maxAliasPages bounds ListAliases for one key (100 aliases a page).
const maxAliasPages = 10

// Findings turns planned deletions into findings of rule
// kms-key-deletion-planned, each with its live key looked up: state, spec,
// description, creation date and aliases (DescribeKey, ListAliases).
// GetKeyLastUsage, severity and the allowlist are the usual later stages.
// A key that cannot be looked up (no id in the plan, an account without
// credentials, already gone) still gives a finding, with Planned.Live false,
// and a warning says why. Findings come back in the order of deletions.
func Findings(ctx context.Context, deletions []Deletion, clients Clients, concurrency int) ([]finding.Finding, []string) {
	out := make([]finding.Finding, len(deletions))
	warns := make([]string, len(deletions))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	for i, d := range deletions {
		out[i] = plannedFinding(d)
		g.Go(func() error {
			warns[i] = lookup(ctx, &out[i], d, clients)
			return nil
		})
	}
	_ = g.Wait()
	return out, slices.DeleteFunc(warns, func(s string) bool { return s == "" })
}

func plannedFinding(d Deletion) finding.Finding {
	f := finding.Finding{
		RuleID: finding.RuleDeletionPlanned, Account: d.Account, Region: d.Region, KeyID: d.KeyID, ARN: d.ARN,
		Planned: &finding.PlannedChange{
			Tool: d.Tool, Source: d.Source, Address: d.Address, Type: d.Type, Name: d.Name,
			Action: d.Action(), Reason: d.Reason, Stack: d.Stack,
		},
	}
	if d.Declared != nil {
		loc := *d.Declared
		f.Planned.Declared = &loc
		f.Locations = []finding.Location{loc}
	}
	return f
}

// lookup fills the live key's metadata; it returns a warning, or "".
func lookup(ctx context.Context, f *finding.Finding, d Deletion, clients Clients) string {
	what := fmt.Sprintf("%s (%s)", d.Address, d.Source)
	switch {
	case d.Withheld:
		return fmt.Sprintf("planned deletion %s: the plan marks the key's id sensitive, so the live key was not looked up", what)
	case d.KeyID == "" || d.Region == "" || d.Account == "":
		return fmt.Sprintf("planned deletion %s: the plan does not give the key's ARN, so the live key was not looked up", what)
	}
	api := clients(d.Account, d.Region)
	if api == nil {
		return fmt.Sprintf("planned deletion %s: account %s is not among the scanned accounts, so the live key was not looked up", what, d.Account)
	}
	id := d.ARN
	if id == "" {
		id = d.KeyID
	}
	out, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	var nf *types.NotFoundException
	switch {
	case errors.As(err, &nf):
		return "" // already deleted: nothing live to protect, the finding says so
	case err != nil:
		return fmt.Sprintf("planned deletion %s: DescribeKey failed in %s/%s: %s", what, d.Account, d.Region, awserr.Describe(err))
	}
	m := out.KeyMetadata
	if m == nil {
		return fmt.Sprintf("planned deletion %s: DescribeKey answered no metadata", what)
	}
	f.Planned.Live = true
	f.KeyID, f.ARN = aws.ToString(m.KeyId), aws.ToString(m.Arn)
	f.Account = aws.ToString(m.AWSAccountId)
	f.State, f.KeySpec, f.Description = string(m.KeyState), string(m.KeySpec), aws.ToString(m.Description)
	f.MultiRegion = aws.ToBool(m.MultiRegion)
	if m.CreationDate != nil {
		f.CreationDate = m.CreationDate.UTC()
	}
	if m.DeletionDate != nil {
		f.DeletionDate = m.DeletionDate.UTC()
	}
	aliases, err := listAliases(ctx, api, f.KeyID)
	f.Aliases = aliases
	if err != nil {
		return fmt.Sprintf("planned deletion %s: ListAliases failed in %s/%s: %s; aliases not shown", what, d.Account, d.Region, awserr.Describe(err))
	}
	return ""
}

func listAliases(ctx context.Context, api KeyAPI, keyID string) ([]string, error) {
	var out []string
	in := &kms.ListAliasesInput{KeyId: aws.String(keyID)}
	for range maxAliasPages {
		page, err := api.ListAliases(ctx, in)
		if err != nil {
			return out, err
		}
		for _, a := range page.Aliases {
			out = append(out, aws.ToString(a.AliasName))
		}
		if !page.Truncated || page.NextMarker == nil {
			break
		}
		in.Marker = page.NextMarker
	}
	slices.Sort(out)
	return out, nil
}
