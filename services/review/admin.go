package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/review/internal/postgres"
	"example.com/creativesync/services/review/internal/staff"
)

const adminUsage = `usage: review admin COMMAND [flags]

Reviewer accounts (needs DATABASE_URL of the review database). Passwords are
read from REVIEWER_PASSWORD or, when it is unset, from the first line of
standard input; never from a flag, which would leave them in shell history.

commands:
  add              -email E -role reviewer|lead|admin [-name NAME] [-no-password]
                   (-no-password: the reviewer signs in through OIDC only)
  set-password     -email E                 also ends the reviewer's sessions
  set-role         -email E -role R
  disable          -email E                 ends every session and token at once
  enable           -email E
  revoke-sessions  -email E
  token            -email E -label L        prints a new API token (shown once)
  revoke-token     -email E [-label L]      all of the reviewer's tokens without -label
  list
  bootstrap-demo   [-email E]               make run's demo admin (default demo@review.example): created,
                   or its password reset, from REVIEWER_PASSWORD; for development stacks only
`

// demoReviewer is the admin `review admin bootstrap-demo` makes for a
// development stack.
const demoReviewer = "demo@review.example"

// stdin is where a password comes from when REVIEWER_PASSWORD is unset.
var stdin io.Reader = os.Stdin

// adminActor is who the audit log names for command-line changes: the OS
// user, since whoever runs the command holds the database credentials.
func adminActor(getenv func(string) string) string {
	if u := getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func admin(ctx context.Context, cfg Config, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" {
		fmt.Fprint(out, adminUsage)
		return nil
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	var email, role, name, label string
	var noPassword bool
	fs.StringVar(&email, "email", "", "reviewer e-mail")
	fs.StringVar(&role, "role", "", "reviewer, lead or admin")
	fs.StringVar(&name, "name", "", "display name (default: the e-mail)")
	fs.StringVar(&label, "label", "", "API token label")
	fs.BoolVar(&noPassword, "no-password", false, "OIDC-only reviewer")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", args[0], fs.Args())
	}
	need := func(flags ...string) error {
		vals := map[string]string{"email": email, "role": role, "label": label}
		for _, f := range flags {
			if vals[f] == "" {
				return fmt.Errorf("%s: -%s is required", args[0], f)
			}
		}
		return nil
	}
	password := func() (string, error) {
		if pw := getenv("REVIEWER_PASSWORD"); pw != "" {
			return pw, nil
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the password from standard input: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "", errors.New("no password: set REVIEWER_PASSWORD or write it to standard input")
		}
		return line, nil
	}

	var run func(*staff.Service) error
	actor := adminActor(getenv)
	switch args[0] {
	case "add":
		if err := need("email", "role"); err != nil {
			return err
		}
		run = func(s *staff.Service) error {
			var pw string
			if !noPassword {
				var err error
				if pw, err = password(); err != nil {
					return err
				}
			}
			r, err := s.AddReviewer(ctx, actor, staff.NewReviewer{Email: email, Name: name, Role: staff.Role(role), Password: pw})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "added %s (%s)\n", r.Email, r.Role)
			return nil
		}
	case "set-password":
		if err := need("email"); err != nil {
			return err
		}
		run = func(s *staff.Service) error {
			pw, err := password()
			if err != nil {
				return err
			}
			return s.SetPassword(ctx, actor, email, pw)
		}
	case "set-role":
		if err := need("email", "role"); err != nil {
			return err
		}
		run = func(s *staff.Service) error { return s.SetRole(ctx, actor, email, staff.Role(role)) }
	case "disable", "enable":
		if err := need("email"); err != nil {
			return err
		}
		run = func(s *staff.Service) error { return s.SetDisabled(ctx, actor, email, args[0] == "disable") }
	case "revoke-sessions":
		if err := need("email"); err != nil {
			return err
		}
		run = func(s *staff.Service) error {
			n, err := s.RevokeSessions(ctx, actor, email)
			if err == nil {
				fmt.Fprintf(out, "revoked %d sessions\n", n)
			}
			return err
		}
	case "token":
		if err := need("email", "label"); err != nil {
			return err
		}
		run = func(s *staff.Service) error {
			tok, err := s.IssueToken(ctx, actor, email, label)
			if err == nil {
				fmt.Fprintln(out, tok)
			}
			return err
		}
	case "revoke-token":
		if err := need("email"); err != nil {
			return err
		}
		run = func(s *staff.Service) error {
			n, err := s.RevokeTokens(ctx, actor, email, label)
			if err == nil {
				fmt.Fprintf(out, "revoked %d tokens\n", n)
			}
			return err
		}
	case "bootstrap-demo":
		if email == "" {
			email = demoReviewer
		}
		run = func(s *staff.Service) error {
			pw := getenv("REVIEWER_PASSWORD")
			if pw == "" {
				return errors.New("bootstrap-demo: REVIEWER_PASSWORD is required")
			}
			_, err := s.AddReviewer(ctx, actor, staff.NewReviewer{Email: email, Name: "Demo reviewer", Role: staff.RoleAdmin, Password: pw})
			if apperr.Code(err) == staff.CodeExists {
				// Idempotent: the stack prints this password, so it must work.
				err = s.SetPassword(ctx, actor, email, pw)
			}
			if err == nil {
				fmt.Fprintf(out, "demo reviewer %s ready\n", email)
			}
			return err
		}
	case "list":
		run = func(s *staff.Service) error {
			rs, err := s.List(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tPASSWORD\tDISABLED")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\n", r.Email, r.Name, r.Role, r.PasswordSet, r.Disabled)
			}
			return tw.Flush()
		}
	default:
		return fmt.Errorf("unknown admin command %q (see `review admin help`)", args[0])
	}

	db, err := pgdb.Open(ctx, cfg.Service.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db); err != nil {
		return err
	}
	return run(staff.NewService(postgres.NewStaffStore(db), nil))
}
