// Package ocsf writes the findings as OCSF Detection Finding events (class
// 2004, the Findings category), a JSON array of one event per finding: the
// format Prowler emits and that Amazon Security Lake and Security Hub
// ingest. Each event carries the cloud profile (provider, account, Region),
// the key as the affected resource, and the cancel command as remediation.
// Text from AWS is cleaned with escape.PlainText and encoded by encoding/json.
package ocsf

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// Version is the OCSF version the events declare.
const Version = "1.1.0"

// Class and category of a Detection Finding; activity 1 is Create.
const (
	categoryUID  = 2
	classUID     = 2004
	activityUID  = 1
	productName  = "kms-deletion-gate"
	resourceType = "AwsKmsKey"
)

// Limits on untrusted text, in runes.
const (
	maxText  = 1000
	maxShort = 256
)

// Event is one Detection Finding.
type Event struct {
	ActivityID   int          `json:"activity_id"`
	ActivityName string       `json:"activity_name"`
	CategoryUID  int          `json:"category_uid"`
	CategoryName string       `json:"category_name"`
	ClassUID     int          `json:"class_uid"`
	ClassName    string       `json:"class_name"`
	TypeUID      int          `json:"type_uid"`
	TypeName     string       `json:"type_name"`
	SeverityID   int          `json:"severity_id"`
	Severity     string       `json:"severity"`
	StatusID     int          `json:"status_id"`
	Status       string       `json:"status"`
	StatusDetail string       `json:"status_detail,omitempty"`
	Time         int64        `json:"time"` // ms since the epoch
	Message      string       `json:"message"`
	Metadata     Metadata     `json:"metadata"`
	FindingInfo  FindingInfo  `json:"finding_info"`
	Resources    []Resource   `json:"resources"`
	Cloud        Cloud        `json:"cloud"`
	Remediation  *Remediation `json:"remediation,omitempty"`
	Unmapped     Unmapped     `json:"unmapped"`
}

// Metadata names the producer and the schema version.
type Metadata struct {
	Version   string   `json:"version"`
	Product   Product  `json:"product"`
	Profiles  []string `json:"profiles"`
	EventCode string   `json:"event_code"`
	UID       string   `json:"uid"`
}

// Product is this tool.
type Product struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version,omitempty"`
}

// FindingInfo identifies the finding across runs.
type FindingInfo struct {
	UID         string   `json:"uid"`
	Title       string   `json:"title"`
	Desc        string   `json:"desc"`
	Types       []string `json:"types"`
	CreatedTime int64    `json:"created_time"`
	ProductUID  string   `json:"product_uid"`
}

// Resource is the key.
type Resource struct {
	UID            string            `json:"uid"`
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	Region         string            `json:"region"`
	CloudPartition string            `json:"cloud_partition,omitempty"`
	Labels         []string          `json:"labels,omitempty"`
	Data           map[string]string `json:"data,omitempty"`
}

// Cloud is where the key lives.
type Cloud struct {
	Provider string  `json:"provider"`
	Region   string  `json:"region"`
	Account  Account `json:"account"`
}

// Account is the AWS account.
type Account struct {
	UID string `json:"uid"`
}

// Remediation says how to save the key.
type Remediation struct {
	Desc       string   `json:"desc"`
	References []string `json:"references"`
}

// Unmapped holds what OCSF has no attribute for.
type Unmapped struct {
	DeletionDate string `json:"deletion_date,omitempty"`
	TimeLeft     string `json:"time_left"`
	Allowlisted  bool   `json:"allowlisted"`
	AllowReason  string `json:"allow_reason,omitempty"`
	LastUse      string `json:"last_use"`
	ScheduledBy  string `json:"scheduled_by,omitempty"`
	InUseReason  string `json:"in_use_reason,omitempty"`
	FailOn       string `json:"fail_on"`
	Gating       bool   `json:"gating"`
}

type severity struct {
	id   int
	name string
}

var severities = map[finding.Severity]severity{
	finding.SeverityLow: {2, "Low"}, finding.SeverityMedium: {3, "Medium"},
	finding.SeverityHigh: {4, "High"}, finding.SeverityCritical: {5, "Critical"},
}

// Build converts a result into events, one per finding.
func Build(res finding.Result, toolVersion string) []Event {
	events := make([]Event, 0, len(res.Findings))
	scan := res.ScanTime.UnixMilli()
	for _, f := range res.Findings {
		sev, ok := severities[f.Severity]
		if !ok {
			sev = severity{1, "Informational"}
		}
		status, statusName, detail := 1, "New", ""
		switch {
		case f.Remediation != nil && f.Remediation.Outcome == "cancelled":
			status, statusName, detail = 4, "Resolved", "deletion cancelled by kms-deletion-gate"
		case f.Allowlisted:
			status, statusName, detail = 3, "Suppressed", "accepted by the allowlist: "+escape.PlainText(f.AllowReason, maxShort)
		}
		uid := productName + "/" + f.RuleID + "/" + clean(f.ARN)
		e := Event{
			ActivityID: activityUID, ActivityName: "Create",
			CategoryUID: categoryUID, CategoryName: "Findings",
			ClassUID: classUID, ClassName: "Detection Finding",
			TypeUID: classUID*100 + activityUID, TypeName: "Detection Finding: Create",
			SeverityID: sev.id, Severity: sev.name,
			StatusID: status, Status: statusName, StatusDetail: detail,
			Time: scan, Message: message(f),
			Metadata: Metadata{
				Version: Version, Product: Product{Name: productName, VendorName: productName, Version: toolVersion},
				Profiles: []string{"cloud"}, EventCode: f.RuleID, UID: uid,
			},
			FindingInfo: FindingInfo{
				UID: uid, Title: title(f), Desc: message(f), Types: []string{f.RuleID},
				CreatedTime: scan, ProductUID: productName,
			},
			Resources: []Resource{resource(f)},
			Cloud:     Cloud{Provider: "AWS", Region: clean(f.Region), Account: Account{UID: clean(f.Account)}},
			Unmapped: Unmapped{
				TimeLeft: report.TimeLeft(f), Allowlisted: f.Allowlisted, AllowReason: escape.PlainText(f.AllowReason, maxShort),
				LastUse: escape.PlainText(report.LastUse(f, res.ScanTime), maxShort), ScheduledBy: escape.PlainText(report.ScheduledBy(f), maxShort),
				InUseReason: escape.PlainText(f.InUseReason, maxText), FailOn: res.FailOn.String(), Gating: f.Gating(res.FailOn),
			},
		}
		if !f.DeletionDate.IsZero() {
			e.Unmapped.DeletionDate = f.DeletionDate.UTC().Format("2006-01-02T15:04:05Z")
		}
		if f.State == finding.StatePendingDeletion && status == 1 {
			e.Remediation = &Remediation{
				Desc:       "If nobody approved this deletion, cancel it (the key becomes Disabled; re-enable it once you know it is needed): " + clean(f.CancelCommand()),
				References: []string{"https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-scheduling-key-deletion.html"},
			}
		}
		events = append(events, e)
	}
	return events
}

// Marshal renders the events as an indented JSON array with a trailing newline.
func Marshal(res finding.Result, toolVersion string) ([]byte, error) {
	b, err := json.MarshalIndent(Build(res, toolVersion), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode OCSF: %w", err)
	}
	return append(b, '\n'), nil
}

func title(f finding.Finding) string {
	switch f.RuleID {
	case finding.RuleDisabled:
		return "KMS key is disabled"
	case finding.RulePendingReplicaDeletion:
		return "KMS multi-Region key is pending replica deletion"
	}
	return "KMS key is pending deletion"
}

func message(f finding.Finding) string {
	s := title(f) + ": " + clean(f.KeyID) + " in " + clean(f.Region) + " of account " + clean(f.Account)
	if !f.DeletionDate.IsZero() {
		s += ", deletion on " + report.DeletionDate(f) + " (" + report.TimeLeft(f) + " left)"
	}
	if f.InUseReason != "" {
		s += "; still needed: " + escape.PlainText(f.InUseReason, maxShort)
	}
	return s
}

func resource(f finding.Finding) Resource {
	r := Resource{
		UID: clean(f.ARN), Name: clean(f.KeyID), Type: resourceType, Region: clean(f.Region),
		CloudPartition: partition(f.ARN),
		Data:           map[string]string{"key_state": clean(f.State)},
	}
	if f.KeySpec != "" {
		r.Data["key_spec"] = clean(f.KeySpec)
	}
	if r.UID == "" {
		r.UID = r.Name
	}
	for _, a := range f.Aliases {
		r.Labels = append(r.Labels, clean(a))
	}
	if f.Description != "" {
		r.Data["description"] = escape.PlainText(f.Description, maxText)
	}
	if f.MultiRegion {
		r.Data["multi_region"] = "true"
	}
	return r
}

// partition is the ARN's partition (aws, aws-cn, aws-us-gov), if any.
func partition(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 3 || parts[0] != "arn" {
		return ""
	}
	return clean(parts[1])
}

func clean(s string) string { return escape.PlainText(s, maxShort) }
