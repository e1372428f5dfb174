package moto_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

func TestSeed(t *testing.T) {
	srv := moto.Start(t)
	ctx := moto.Context(t)
	c := kms.NewFromConfig(srv.Config("eu-west-1"))
	before := time.Now()
	keys := srv.Seed(t, "eu-west-1",
		moto.Key{Description: "pending", Alias: "alias/orders", Tags: map[string]string{"team": "payments", "env": "prod"}, PendingDays: 9},
		moto.Key{Description: "disabled", Disable: true},
		moto.Key{Description: "multi", MultiRegion: true},
	)
	if len(keys) != 3 {
		t.Fatalf("got %d keys, want 3", len(keys))
	}
	wantDeletion := before.Add(9 * 24 * time.Hour)
	if d := keys[0].DeletionDate.Sub(wantDeletion); d < -time.Minute || d > time.Minute {
		t.Errorf("deletion date %s, want about %s", keys[0].DeletionDate, wantDeletion)
	}
	states := map[string]types.KeyState{keys[0].ID: types.KeyStatePendingDeletion, keys[1].ID: types.KeyStateDisabled, keys[2].ID: types.KeyStateEnabled}
	for id, want := range states {
		out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if out.KeyMetadata.KeyState != want {
			t.Errorf("%s: state %s, want %s", id, out.KeyMetadata.KeyState, want)
		}
		if id == keys[2].ID && !aws.ToBool(out.KeyMetadata.MultiRegion) {
			t.Errorf("%s: not multi-Region", id)
		}
	}
	tags, err := c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(keys[0].ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 2 || aws.ToString(tags.Tags[0].TagKey) != "env" {
		t.Errorf("tags %+v, want env and team", tags.Tags)
	}
	aliases, err := c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: aws.String(keys[0].ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(aliases.Aliases) != 1 || aws.ToString(aliases.Aliases[0].AliasName) != "alias/orders" {
		t.Errorf("aliases %+v, want alias/orders", aliases.Aliases)
	}
}

// moto 5.2.1 answers 200 to a deletion window outside 7..30 days and leaves
// the key Enabled (moto/kms/models.py schedule_key_deletion), so the seeder
// refuses such windows instead of seeding a key that is silently not pending.
func TestSeedRefusesWindowsMotoIgnores(t *testing.T) {
	srv := moto.Start(t)
	ctx := moto.Context(t)
	c := kms.NewFromConfig(srv.Config("us-east-1"))
	raw := srv.Seed(t, "us-east-1", moto.Key{})[0]
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(raw.ID), PendingWindowInDays: aws.Int32(2)}); err != nil {
		t.Fatalf("moto rejected a 2-day window (the seeder's guard may be lifted): %v", err)
	}
	out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(raw.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if out.KeyMetadata.KeyState != types.KeyStateEnabled || out.KeyMetadata.DeletionDate != nil {
		t.Errorf("moto honoured a 2-day window (state %s): the seeder's guard may be lifted", out.KeyMetadata.KeyState)
	}
	if _, err := moto.SeedKey(ctx, c, moto.Key{PendingDays: 2}); err == nil {
		t.Error("SeedKey accepted a 2-day window")
	}
}
