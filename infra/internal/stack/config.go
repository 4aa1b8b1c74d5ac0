package stack

import (
	"fmt"
	"path/filepath"
	"strings"

	"example.com/creativesync/infra/internal/devstack"
	"example.com/creativesync/platform/broker"
)

// Config is everything the stack reads from the environment, resolved once.
type Config struct {
	Root    string // repository root (holds go.work)
	DataDir string // Root/.data: private cluster, binaries, logs, demo key

	DatabaseURL string // DATABASE_URL: an admin URL to reuse if it answers
	NATSURL     string // NATS_URL: a JetStream server to reuse if it answers
	// The standard local servers, tried after the URLs above. Fields rather
	// than constants so tests can point them at ports where nothing runs.
	LocalDatabaseURL string
	LocalNATSURL     string

	TopicPrefix string // TOPIC_PREFIX, passed to the services
	LogLevel    string // LOG_LEVEL, passed to the services
	// REVIEWER_TOKEN guards review's reviewer API and page, which are off
	// without one; `stack up` makes one for development if it is unset.
	ReviewerToken string

	// STACK_FORCE_PRIVATE skips reuse so the fallbacks can be tried on a
	// machine where the standard servers run: "1" for both, or "postgres"
	// or "nats".
	ForcePrivatePostgres bool
	ForcePrivateNATS     bool

	// Environ is passed on to every child, with our variables added.
	Environ []string
}

// LoadConfig reads the stack's variables through getenv and finds the
// repository root at or above wd. Environ is left for the caller to set.
func LoadConfig(getenv func(string) string, wd string) (Config, error) {
	root, err := devstack.FindRoot(wd)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		Root:             root,
		DataDir:          filepath.Join(root, ".data"),
		DatabaseURL:      getenv("DATABASE_URL"),
		NATSURL:          getenv("NATS_URL"),
		LocalDatabaseURL: devstack.LocalDatabaseURL,
		LocalNATSURL:     devstack.LocalNATSURL,
		TopicPrefix:      getenv("TOPIC_PREFIX"),
		LogLevel:         getenv("LOG_LEVEL"),
		ReviewerToken:    getenv("REVIEWER_TOKEN"),
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	// The services refuse a prefix JetStream cannot use; refusing it here
	// too fails before any server is started.
	if err := broker.CheckPrefix(cfg.TopicPrefix); err != nil {
		return Config{}, fmt.Errorf("TOPIC_PREFIX %q %w", cfg.TopicPrefix, err)
	}
	force := strings.ToLower(strings.TrimSpace(getenv("STACK_FORCE_PRIVATE")))
	switch force {
	case "", "0", "false", "no":
	case "1", "true", "yes", "all":
		cfg.ForcePrivatePostgres, cfg.ForcePrivateNATS = true, true
	default:
		for _, f := range strings.Split(force, ",") {
			switch strings.TrimSpace(f) {
			case "postgres", "pg":
				cfg.ForcePrivatePostgres = true
			case "nats":
				cfg.ForcePrivateNATS = true
			default:
				return Config{}, fmt.Errorf("STACK_FORCE_PRIVATE=%q: want 1, postgres or nats", force)
			}
		}
	}
	return cfg, nil
}
