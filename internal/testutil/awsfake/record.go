package awsfake

import (
	"encoding/json"
	"strings"
	"time"
)

// KMSRecord is a CloudTrail record of a KMS API call, rendered in the shape of
// the examples in the KMS Developer Guide ("Logging AWS KMS API calls with AWS
// CloudTrail": ct-schedule-key-deletion, ct-decrypt): eventVersion,
// userIdentity, eventTime, eventSource, eventName, awsRegion, sourceIPAddress,
// userAgent, requestParameters, responseElements, errorCode/errorMessage on
// failure, requestID, eventID, readOnly, resources[{accountId, type, ARN}],
// eventType and recipientAccountId.
type KMSRecord struct {
	EventID   string
	EventName string // e.g. "ScheduleKeyDeletion", "Decrypt"
	EventTime time.Time
	Region    string
	KeyARN    string

	// The caller. IdentityType is "IAMUser" when empty; "AssumedRole" and
	// "AWSService" (with InvokedBy) are the other common ones.
	IdentityType string
	PrincipalARN string
	PrincipalID  string
	UserName     string // IAMUser userName, or the role session name for AssumedRole
	AccessKeyID  string
	InvokedBy    string
	SourceIP     string
	UserAgent    string

	RequestParameters map[string]any // nil renders as null
	ResponseElements  map[string]any // nil renders as null
	ErrorCode         string
	ErrorMessage      string
	ReadOnly          bool
}

// ScheduleKeyDeletionRecord is the record of a successful ScheduleKeyDeletion
// of keyARN by an IAM user, as in the KMS Developer Guide example.
func ScheduleKeyDeletionRecord(eventID, keyARN, userARN string, at time.Time, windowDays int) KMSRecord {
	return KMSRecord{
		EventID:      eventID,
		EventName:    "ScheduleKeyDeletion",
		EventTime:    at,
		Region:       regionOfARN(keyARN),
		KeyARN:       keyARN,
		IdentityType: "IAMUser",
		PrincipalARN: userARN,
		PrincipalID:  "AIDAEXAMPLEPRINCIPAL",
		UserName:     lastPathPart(userARN),
		AccessKeyID:  "AKIAIOSFODNN7EXAMPLE",
		SourceIP:     "192.0.2.0",
		UserAgent:    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
		RequestParameters: map[string]any{
			"pendingWindowInDays": windowDays,
			"keyId":               keyIDOf(keyARN),
		},
		ResponseElements: map[string]any{
			"keyId":               keyARN,
			"keyState":            "PendingDeletion",
			"deletionDate":        at.AddDate(0, 0, windowDays).UTC().Format("Jan 2, 2006 15:04:05 PM"),
			"pendingWindowInDays": windowDays,
		},
	}
}

// FailedUseRecord is the record of a cryptographic call (operation, e.g.
// "Decrypt") on keyARN by an assumed role that KMS rejected with
// KMSInvalidStateException because the key is pending deletion.
func FailedUseRecord(eventID, operation, keyARN, roleSessionARN string, at time.Time) KMSRecord {
	params := map[string]any{"keyId": keyARN}
	if operation == "Decrypt" {
		params = map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": keyARN}
	}
	return KMSRecord{
		EventID:           eventID,
		EventName:         operation,
		EventTime:         at,
		Region:            regionOfARN(keyARN),
		KeyARN:            keyARN,
		IdentityType:      "AssumedRole",
		PrincipalARN:      roleSessionARN,
		PrincipalID:       "AROAEXAMPLEROLEID:" + lastPathPart(roleSessionARN),
		UserName:          lastPathPart(roleSessionARN),
		AccessKeyID:       "ASIAEXAMPLEKEYID",
		SourceIP:          "198.51.100.7",
		UserAgent:         "aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22",
		RequestParameters: params,
		ErrorCode:         "KMSInvalidStateException",
		ErrorMessage:      keyARN + " is pending deletion.",
		ReadOnly:          true,
	}
}

// JSON renders the record as CloudTrail stores it.
func (r KMSRecord) JSON() string {
	account := accountOfARN(r.KeyARN)
	identityType := r.IdentityType
	if identityType == "" {
		identityType = "IAMUser"
	}
	identity := map[string]any{"type": identityType}
	switch identityType {
	case "AWSService":
		identity["invokedBy"] = r.InvokedBy
	default:
		identity["principalId"] = r.PrincipalID
		identity["arn"] = r.PrincipalARN
		identity["accountId"] = accountOfARN(r.PrincipalARN)
		identity["accessKeyId"] = r.AccessKeyID
		if identityType == "IAMUser" {
			identity["userName"] = r.UserName
		}
	}
	rec := map[string]any{
		"eventVersion":      "1.08",
		"userIdentity":      identity,
		"eventTime":         r.EventTime.UTC().Format(time.RFC3339),
		"eventSource":       "kms.amazonaws.com",
		"eventName":         r.EventName,
		"awsRegion":         r.Region,
		"sourceIPAddress":   r.SourceIP,
		"userAgent":         r.UserAgent,
		"requestParameters": r.RequestParameters,
		"responseElements":  r.ResponseElements,
		"requestID":         "ee408f36-ea01-422b-ac14-" + pad12(r.EventID),
		"eventID":           r.EventID,
		"readOnly":          r.ReadOnly,
		"resources": []map[string]any{{
			"accountId": account,
			"type":      "AWS::KMS::Key",
			"ARN":       r.KeyARN,
		}},
		"eventType":          "AwsApiCall",
		"recipientAccountId": account,
	}
	if r.ErrorCode != "" {
		rec["errorCode"] = r.ErrorCode
		rec["errorMessage"] = r.ErrorMessage
	}
	b, _ := json.Marshal(rec)
	return string(b)
}

// Event is the record as LookupEvents returns it: the record's JSON in
// CloudTrailEvent, and the key as resource AWS::KMS::Key named by its ARN.
func (r KMSRecord) Event() Event {
	readOnly := "false"
	if r.ReadOnly {
		readOnly = "true"
	}
	return Event{
		Region:          r.Region,
		EventID:         r.EventID,
		EventName:       r.EventName,
		EventSource:     "kms.amazonaws.com",
		EventTime:       r.EventTime.UTC().Truncate(time.Second),
		Username:        r.UserName,
		AccessKeyID:     r.AccessKeyID,
		ReadOnly:        readOnly,
		Resources:       []Resource{{ResourceType: "AWS::KMS::Key", ResourceName: r.KeyARN}},
		CloudTrailEvent: r.JSON(),
	}
}

// arn:partition:service:region:account:resource
func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[i]
}

func regionOfARN(arn string) string  { return arnField(arn, 3) }
func accountOfARN(arn string) string { return arnField(arn, 4) }

func lastPathPart(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func pad12(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'f' {
			b.WriteRune(r)
		}
	}
	out := b.String() + "000000000000"
	return out[:12]
}

// EventFromJSON wraps a raw CloudTrail record (for example one written from
// the KMS Developer Guide's examples) as LookupEvents returns it, taking
// EventId, EventName, EventSource, EventTime, Username, AccessKeyId, ReadOnly
// and Resources from the record itself.
func EventFromJSON(record string) (Event, error) {
	var rec struct {
		EventID      string    `json:"eventID"`
		EventName    string    `json:"eventName"`
		EventSource  string    `json:"eventSource"`
		EventTime    time.Time `json:"eventTime"`
		AWSRegion    string    `json:"awsRegion"`
		ReadOnly     *bool     `json:"readOnly"`
		UserIdentity struct {
			ARN         string `json:"arn"`
			UserName    string `json:"userName"`
			AccessKeyID string `json:"accessKeyId"`
		} `json:"userIdentity"`
		Resources []struct {
			Type string `json:"type"`
			ARN  string `json:"ARN"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(record), &rec); err != nil {
		return Event{}, err
	}
	e := Event{
		Region:          rec.AWSRegion,
		EventID:         rec.EventID,
		EventName:       rec.EventName,
		EventSource:     rec.EventSource,
		EventTime:       rec.EventTime.UTC(),
		Username:        rec.UserIdentity.UserName,
		AccessKeyID:     rec.UserIdentity.AccessKeyID,
		CloudTrailEvent: record,
	}
	if e.Username == "" && rec.UserIdentity.ARN != "" {
		e.Username = lastPathPart(rec.UserIdentity.ARN)
	}
	if rec.ReadOnly != nil {
		e.ReadOnly = "false"
		if *rec.ReadOnly {
			e.ReadOnly = "true"
		}
	}
	for _, r := range rec.Resources {
		e.Resources = append(e.Resources, Resource{ResourceType: r.Type, ResourceName: r.ARN})
	}
	return e, nil
}
