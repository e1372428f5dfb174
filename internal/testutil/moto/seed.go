package moto

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Key describes a key to seed: what CreateKey sets, then the alias, the
// deletion window or the disabled state. The zero value is an enabled key
// with no alias, tags or description.
type Key struct {
	Description string
	Tags        map[string]string // sent in key order, so seeding is deterministic
	MultiRegion bool
	Alias       string // e.g. "alias/orders"; empty for none
	// PendingDays schedules deletion this many days out (0: not scheduled).
	// moto 5.2.1, like AWS, honours only 7 to 30; outside that range it
	// answers 200 and leaves the key Enabled, so Apply refuses such values.
	PendingDays int
	Disable     bool // disable the key (when not scheduled)
}

// Seeded is a key the seeder made.
type Seeded struct {
	ID, ARN      string
	CreationDate time.Time
	DeletionDate time.Time // zero unless scheduled
}

// SeedKey creates k with c and applies its alias, deletion window and state.
// It works against any KMS endpoint, so commands (the demo, the benchmark)
// seed the same way tests do.
func SeedKey(ctx context.Context, c *kms.Client, k Key) (Seeded, error) {
	in := &kms.CreateKeyInput{MultiRegion: aws.Bool(k.MultiRegion)}
	if k.Description != "" {
		in.Description = aws.String(k.Description)
	}
	names := make([]string, 0, len(k.Tags))
	for name := range k.Tags {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		in.Tags = append(in.Tags, types.Tag{TagKey: aws.String(name), TagValue: aws.String(k.Tags[name])})
	}
	out, err := c.CreateKey(ctx, in)
	if err != nil {
		return Seeded{}, fmt.Errorf("create key: %w", err)
	}
	md := out.KeyMetadata
	s := Seeded{ID: aws.ToString(md.KeyId), ARN: aws.ToString(md.Arn), CreationDate: aws.ToTime(md.CreationDate)}
	s.DeletionDate, err = Apply(ctx, c, s.ID, k)
	return s, err
}

// Apply gives the existing key id k's alias, then schedules its deletion or
// disables it, and returns the deletion date (zero when not scheduled).
// Description, Tags and MultiRegion are creation-time only and ignored here.
func Apply(ctx context.Context, c *kms.Client, id string, k Key) (time.Time, error) {
	if k.Alias != "" {
		if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(k.Alias), TargetKeyId: aws.String(id)}); err != nil {
			return time.Time{}, fmt.Errorf("create alias %s for %s: %w", k.Alias, id, err)
		}
	}
	switch {
	case k.PendingDays != 0:
		if k.PendingDays < 7 || k.PendingDays > 30 {
			return time.Time{}, fmt.Errorf("schedule deletion of %s: %d days is outside 7..30, which moto (like AWS) ignores", id, k.PendingDays)
		}
		// By key id: moto answers 500 to ScheduleKeyDeletion by ARN.
		out, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(int32(k.PendingDays))})
		if err != nil {
			return time.Time{}, fmt.Errorf("schedule deletion of %s: %w", id, err)
		}
		return aws.ToTime(out.DeletionDate), nil
	case k.Disable:
		if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)}); err != nil {
			return time.Time{}, fmt.Errorf("disable %s: %w", id, err)
		}
	}
	return time.Time{}, nil
}

// Seed creates keys in region with the test credentials of Config and fails
// the test on any error.
func (s *Server) Seed(t testing.TB, region string, keys ...Key) []Seeded {
	t.Helper()
	return SeedWith(t, kms.NewFromConfig(s.Config(region)), keys...)
}

// SeedWith creates keys with c (e.g. a client holding another account's
// credentials) and fails the test on any error.
func SeedWith(t testing.TB, c *kms.Client, keys ...Key) []Seeded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := make([]Seeded, 0, len(keys))
	for _, k := range keys {
		s, err := SeedKey(ctx, c, k)
		if err != nil {
			t.Fatalf("seed moto: %v", err)
		}
		out = append(out, s)
	}
	return out
}
