package adcp

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"example.com/creativesync/platform/netguard"
	"example.com/creativesync/services/ingest/internal/creative"
	"example.com/creativesync/services/ingest/internal/drive"
)

// The Drive-link job dialect (POST /api/external/creative_sync, the first
// seed): {file_links[], ad_account_id, webhook_url?} in, {job_id, status,
// message} out. Errors use the same AdCP error shape as every other route.

// JobAccepted is the seed's answer to a new job.
type JobAccepted struct {
	JobID   string `json:"job_id"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// JobRules are the intake rules that depend on configuration.
type JobRules struct {
	MaxLinks int
	// AllowPrivateWebhooks lets webhook_url be http or a loopback/private
	// address: the notifier's development switch, mirrored at intake.
	AllowPrivateWebhooks bool
}

// DecodeJob decodes a creative_sync body. idempotencyKey is the
// Idempotency-Key header (optional).
func DecodeJob(body []byte, idempotencyKey string, rules JobRules) (creative.JobCommand, error) {
	raw, err := Object(body)
	if err != nil {
		return creative.JobCommand{}, err
	}
	d := &fields{raw: raw}
	var cmd creative.JobCommand
	if d.str("ad_account_id", &cmd.AccountID, true) && strings.TrimSpace(cmd.AccountID) == "" {
		d.bad(creative.CodeInvalidRequest, "ad_account_id", "ad_account_id must not be empty")
	}
	if v, ok := d.has("webhook_url"); ok {
		if json.Unmarshal(v, &cmd.WebhookURL) != nil {
			d.bad(creative.CodeValidation, "webhook_url", "webhook_url must be a string")
		} else if msg := checkWebhookURL(cmd.WebhookURL, rules.AllowPrivateWebhooks); msg != "" {
			d.bad(creative.CodeValidation, "webhook_url", fmt.Sprintf("webhook_url %q %s", clip(cmd.WebhookURL), msg))
		}
	}
	v, ok := d.has("file_links")
	var links []string
	switch {
	case !ok:
		d.bad(creative.CodeInvalidRequest, "file_links", "file_links is required: Google Drive links or file ids")
	case json.Unmarshal(v, &links) != nil:
		d.bad(creative.CodeValidation, "file_links", "file_links must be an array of strings")
	case len(links) == 0:
		d.bad(creative.CodeValidation, "file_links", "file_links must name at least one file")
	case len(links) > rules.MaxLinks:
		d.bad(creative.CodeValidation, "file_links", fmt.Sprintf("file_links names %d files; at most %d per job", len(links), rules.MaxLinks))
	default:
		seen := map[string]bool{}
		for i, l := range links {
			ref, err := drive.ParseLink(l)
			if err != nil {
				d.bad(creative.CodeValidation, fmt.Sprintf("file_links[%d]", i), fmt.Sprintf("%q: %v", clip(l), err))
				continue
			}
			if seen[ref.ID] {
				continue // the same file twice is one file
			}
			seen[ref.ID] = true
			cmd.Links = append(cmd.Links, creative.JobLink{Link: l, ID: ref.ID, ResourceKey: ref.ResourceKey, Folder: ref.Folder})
		}
	}
	if idempotencyKey != "" && !idempotencyKeyPattern.MatchString(idempotencyKey) {
		d.bad(creative.CodeInvalidRequest, "Idempotency-Key", "the Idempotency-Key header must be 16-255 characters of A-Z a-z 0-9 _ . : -")
	}
	if err := d.err(); err != nil {
		return cmd, err
	}
	if idempotencyKey != "" {
		h, err := creative.CanonicalHash(raw)
		if err != nil {
			return cmd, invalid(creative.CodeInvalidRequest, "", "request cannot be canonicalised: "+err.Error())
		}
		cmd.IdempotencyKey, cmd.RequestHash = idempotencyKey, h
	}
	return cmd, nil
}

// checkWebhookURL applies the notifier's rules at intake, as far as they
// can be judged without resolving names: https, a host, no credentials,
// and no loopback, private or link-local address literal or localhost.
// The notifier checks resolved addresses again when it connects.
func checkWebhookURL(s string, allowPrivate bool) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return "is not an absolute URL"
	case len(s) > creative.MaxURLLength:
		return fmt.Sprintf("is longer than %d characters", creative.MaxURLLength)
	case u.User != nil:
		return "must not carry credentials"
	case u.Scheme != "https" && !(allowPrivate && u.Scheme == "http"):
		return "must be https"
	}
	if allowPrivate {
		return ""
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") || strings.HasSuffix(host, ".internal") {
		return "must be a public host"
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		// 2130706433, 0x7f000001, 127.1: addresses that look like names.
		a, _ = netguard.LegacyIPv4(host)
	}
	if a.IsValid() && netguard.BlockReason(a) != "" {
		return "must be a public address"
	}
	return ""
}

// clip shortens a value quoted back in an error.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
