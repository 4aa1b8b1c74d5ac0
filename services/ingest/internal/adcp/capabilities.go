package adcp

import (
	"encoding/json"
	"slices"
	"time"

	"example.com/creativesync/services/ingest/internal/creative"
)

// Capabilities is get_adcp_capabilities' response, as far as we declare.
type Capabilities struct {
	Status             string            `json:"status"`
	Adcp               AdcpInfo          `json:"adcp"`
	SupportedProtocols []string          `json:"supported_protocols"`
	Account            AccountInfo       `json:"account"`
	MediaBuy           MediaBuyInfo      `json:"media_buy"`
	Creative           CreativeInfo      `json:"creative"`
	ComplianceTesting  ComplianceTesting `json:"compliance_testing"`
	LastUpdated        string            `json:"last_updated"`
	Context            json.RawMessage   `json:"context,omitempty"`
}

// AdcpInfo is the adcp block: versions and idempotency.
type AdcpInfo struct {
	MajorVersions []int           `json:"major_versions"`
	Idempotency   IdempotencyInfo `json:"idempotency"`
}

// IdempotencyInfo declares the replay window.
type IdempotencyInfo struct {
	Supported        bool `json:"supported"`
	ReplayTTLSeconds int  `json:"replay_ttl_seconds"`
}

// AccountInfo declares the account model: buyer-declared accounts
// (sync_accounts, no operator credentials), every billing party recorded as
// declared, sandbox accounts supported.
type AccountInfo struct {
	RequireOperatorAuth bool     `json:"require_operator_auth"`
	SupportedBilling    []string `json:"supported_billing"`
	Sandbox             bool     `json:"sandbox"`
}

// MediaBuyInfo declares media-buy features.
type MediaBuyInfo struct {
	Features map[string]bool `json:"features"`
}

// CreativeInfo declares creative-protocol features.
type CreativeInfo struct {
	HasCreativeLibrary bool `json:"has_creative_library"`
}

// ComplianceTesting declares comply_test_controller's scenarios.
type ComplianceTesting struct {
	Scenarios []string `json:"scenarios"`
}

// DeclaredScenarios go into the compliance_testing block, whose enum only
// names force_* and simulate_* scenarios.
var DeclaredScenarios = []string{"force_creative_status", "force_account_status"}

// ListedScenarios are what list_scenarios reports: the declared ones plus
// the seed scenarios, which the controller implements as well.
var ListedScenarios = []string{"force_creative_status", "force_account_status", "seed_creative", "seed_creative_format"}

// CapabilitiesOf describes this seller.
func CapabilitiesOf(ttl time.Duration, reqContext json.RawMessage) Capabilities {
	return Capabilities{
		Status: "completed",
		Adcp: AdcpInfo{MajorVersions: slices.Clone(creative.SupportedMajorVersions),
			Idempotency: IdempotencyInfo{Supported: true, ReplayTTLSeconds: int(ttl / time.Second)}},
		SupportedProtocols: []string{"media_buy", "creative"},
		Account:            AccountInfo{SupportedBilling: slices.Clone(creative.BillingParties), Sandbox: true},
		MediaBuy:           MediaBuyInfo{Features: map[string]bool{"inline_creative_management": true}},
		Creative:           CreativeInfo{HasCreativeLibrary: true},
		ComplianceTesting:  ComplianceTesting{Scenarios: slices.Clone(DeclaredScenarios)},
		LastUpdated:        time.Now().UTC().Format(time.RFC3339),
		Context:            reqContext,
	}
}
