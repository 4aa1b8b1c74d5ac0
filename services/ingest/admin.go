package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"example.com/creativesync/platform/broker"
	"example.com/creativesync/services/ingest/internal/creative"
	"example.com/creativesync/services/ingest/internal/service"
)

const adminUsage = `usage: ingest admin COMMAND [flags]

commands:
  bootstrap-demo     principal "demo", account "acct_demo" (brand demo.example, operator demo-agency.example),
                     media buy "mb_demo" with packages pkg_demo_active (active) and pkg_demo_paused (paused);
                     the API key comes from DEMO_API_KEY (or is generated and printed)
  create-principal   -id ID -name NAME            prints a new API key
  add-key            -principal ID [-key KEY]     prints the key
  create-account     -principal ID -id ID [-brand DOMAIN -operator DOMAIN] [-sandbox] [-status active|suspended]
  set-account-approval -principal ID -status active|pending_approval
                     whether the principal's newly declared accounts (sync_accounts, first natural-key use)
                     are active at once or wait for an operator
  set-account-status -principal ID -id ID -status active|rejected|suspended|payment_required|closed
                     approve or decline a pending account, suspend, reactivate or close one (the account lifecycle)
  create-media-buy   -account ID -id ID
  set-package        -media-buy ID -id ID -status active|paused|completed|canceled
  delete-streams     delete every JetStream stream whose name starts with TOPIC_PREFIX (a throwaway
                     pipeline's, e.g. a compliance run's); refused when TOPIC_PREFIX is empty
`

func admin(ctx context.Context, cfg Config, args []string, getenv func(string) string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" {
		fmt.Fprint(out, adminUsage)
		return nil
	}
	db, store, err := service.Open(ctx, cfg.service(version), log)
	if err != nil {
		return err
	}
	defer db.Close()
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	var (
		id, name, principal, key, account, brand, operator, mediaBuy, status string
		sandbox                                                              bool
	)
	fs.StringVar(&id, "id", "", "id")
	fs.StringVar(&name, "name", "", "name")
	fs.StringVar(&principal, "principal", "", "principal id")
	fs.StringVar(&key, "key", "", "API key (generated when empty)")
	fs.StringVar(&account, "account", "", "account id")
	fs.StringVar(&brand, "brand", "", "brand domain")
	fs.StringVar(&operator, "operator", "", "operator domain")
	fs.StringVar(&mediaBuy, "media-buy", "", "media buy id")
	fs.StringVar(&status, "status", "", "status")
	fs.BoolVar(&sandbox, "sandbox", false, "sandbox account")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	need := func(vals ...string) error {
		for i := 0; i < len(vals); i += 2 {
			if vals[i+1] == "" {
				return fmt.Errorf("%s: -%s is required", args[0], vals[i])
			}
		}
		return nil
	}
	newKey := func() string {
		var b [24]byte
		_, _ = rand.Read(b[:]) // never fails (Go 1.24+ aborts instead)
		return "sk_" + hex.EncodeToString(b[:])
	}
	switch args[0] {
	case "bootstrap-demo":
		key = getenv("DEMO_API_KEY")
		printKey := key == ""
		if printKey {
			key = newKey()
		}
		steps := []func() error{
			func() error { return store.UpsertPrincipal(ctx, "demo", "Demo buyer agent") },
			func() error { return store.AddAPIKey(ctx, "demo", key, "demo") },
			func() error {
				return store.UpsertAccount(ctx, creative.Account{ID: "acct_demo", PrincipalID: "demo", Name: "Demo account",
					BrandDomain: "demo.example", Operator: "demo-agency.example"})
			},
			func() error { return store.UpsertMediaBuy(ctx, "mb_demo", "acct_demo", "active") },
			func() error { return store.UpsertPackage(ctx, "pkg_demo_active", "mb_demo", "active") },
			func() error { return store.UpsertPackage(ctx, "pkg_demo_paused", "mb_demo", "paused") },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return fmt.Errorf("bootstrap-demo: %w", err)
			}
		}
		if printKey {
			fmt.Fprintf(out, "ADCP_AUTH_TOKEN=%s\n", key)
		}
		return nil
	case "create-principal":
		if err := need("id", id); err != nil {
			return err
		}
		if name == "" {
			name = id
		}
		key = newKey()
		if err := errors.Join(store.UpsertPrincipal(ctx, id, name), store.AddAPIKey(ctx, id, key, "admin")); err != nil {
			return err
		}
		fmt.Fprintln(out, key)
		return nil
	case "add-key":
		if err := need("principal", principal); err != nil {
			return err
		}
		if key == "" {
			key = newKey()
		}
		if err := store.AddAPIKey(ctx, principal, key, "admin"); err != nil {
			return err
		}
		fmt.Fprintln(out, key)
		return nil
	case "create-account":
		if err := need("principal", principal, "id", id); err != nil {
			return err
		}
		if (brand == "") != (operator == "") {
			return errors.New("create-account: -brand and -operator go together")
		}
		return store.UpsertAccount(ctx, creative.Account{ID: id, PrincipalID: principal, Name: name, BrandDomain: brand,
			Operator: operator, Sandbox: sandbox, Status: status})
	case "set-account-approval":
		if err := need("principal", principal, "status", status); err != nil {
			return err
		}
		return store.SetAccountApproval(ctx, principal, status)
	case "set-account-status":
		if err := need("principal", principal, "id", id, "status", status); err != nil {
			return err
		}
		svc, err := creative.NewService(ctx, store, creative.Options{AgentURLs: cfg.service(version).AgentURLs})
		if err != nil {
			return err
		}
		prev, err := svc.SetAccountStatus(ctx, principal, id, status)
		if err != nil {
			return fmt.Errorf("set-account-status: %w", err)
		}
		fmt.Fprintf(out, "account %s: %s -> %s\n", id, prev, status)
		return nil
	case "create-media-buy":
		if err := need("account", account, "id", id); err != nil {
			return err
		}
		return store.UpsertMediaBuy(ctx, id, account, "active")
	case "set-package":
		if err := need("media-buy", mediaBuy, "id", id, "status", status); err != nil {
			return err
		}
		return store.UpsertPackage(ctx, id, mediaBuy, status)
	case "delete-streams":
		nc, err := broker.Connect(cfg.NATSURL, name+"-admin")
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := nc.JetStream()
		if err != nil {
			return err
		}
		deleted, err := broker.DeleteStreams(js, cfg.TopicPrefix)
		for _, stream := range deleted {
			fmt.Fprintln(out, "deleted stream", stream)
		}
		if err != nil {
			return fmt.Errorf("delete-streams (TOPIC_PREFIX %q): %w", cfg.TopicPrefix, err)
		}
		return nil
	default:
		return fmt.Errorf("unknown admin command %q\n%s", args[0], adminUsage)
	}
}
