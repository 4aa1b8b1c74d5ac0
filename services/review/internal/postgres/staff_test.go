package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/services/review/internal/postgres"
	"example.com/creativesync/services/review/internal/staff"
)

func newStaff(t *testing.T) *staff.Service {
	t.Helper()
	db := pgtest.Migrated(t, postgres.Migrate)
	return staff.NewService(postgres.NewStaffStore(db), &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
}

func wantStaffCode(t *testing.T, err error, code, field string) {
	t.Helper()
	e := apperr.As(err)
	if e == nil || e.Code != code || (field != "" && e.Field != field) {
		t.Fatalf("error %v; want %s on %q", err, code, field)
	}
}

const pw = "a long enough password"

func TestReviewerAccounts(t *testing.T) {
	t.Parallel()
	s := newStaff(t)
	ctx := context.Background()
	for _, tt := range []struct {
		in    staff.NewReviewer
		field string
	}{
		{staff.NewReviewer{Email: "", Role: staff.RoleReviewer, Password: pw}, "email"},
		{staff.NewReviewer{Email: "Ana <ana@x.example>", Role: staff.RoleReviewer, Password: pw}, "email"},
		{staff.NewReviewer{Email: "not-an-address", Role: staff.RoleReviewer, Password: pw}, "email"},
		{staff.NewReviewer{Email: "ana@x.example", Role: "owner", Password: pw}, "role"},
		{staff.NewReviewer{Email: "ana@x.example", Role: staff.RoleReviewer, Password: "short"}, "password"},
	} {
		_, err := s.AddReviewer(ctx, "test", tt.in)
		wantStaffCode(t, err, staff.CodeInvalid, tt.field)
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Fatalf("refused accounts were stored: %v", list)
	}
	r, err := s.AddReviewer(ctx, "cli:root", staff.NewReviewer{Email: " Ana@X.example ", Role: staff.RoleReviewer, Password: pw})
	if err != nil || r.Email != "ana@x.example" || r.Name != "ana@x.example" || !r.PasswordSet {
		t.Fatalf("add: %+v %v", r, err)
	}
	_, err = s.AddReviewer(ctx, "test", staff.NewReviewer{Email: "ana@x.example", Role: staff.RoleLead, Password: pw})
	wantStaffCode(t, err, staff.CodeExists, "email")

	if _, err := s.Authenticate(ctx, "ANA@x.example", pw); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	for _, c := range [][2]string{{"ana@x.example", "wrong password here"}, {"bob@x.example", pw}} {
		_, err := s.Authenticate(ctx, c[0], c[1])
		wantStaffCode(t, err, staff.CodeUnauthorized, "")
	}
	// OIDC-only reviewers have no password to guess.
	if _, err := s.AddReviewer(ctx, "test", staff.NewReviewer{Email: "oidc@x.example", Role: staff.RoleReviewer}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, "oidc@x.example", "")
	wantStaffCode(t, err, staff.CodeUnauthorized, "")

	// Sessions: live until sign-out, expiry, a password change or disabling.
	now := time.Now()
	s.SetClock(func() time.Time { return now })
	id, _, err := s.StartSession(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if who, err := s.Session(ctx, id); err != nil || who.Email != "ana@x.example" {
		t.Fatalf("session: %+v %v", who, err)
	}
	if err := s.EndSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = s.Session(ctx, id)
	wantStaffCode(t, err, staff.CodeUnauthorized, "")

	id, _, _ = s.StartSession(ctx, r)
	s.SetClock(func() time.Time { return now.Add(staff.DefaultSessionTTL + time.Second) })
	_, err = s.Session(ctx, id)
	wantStaffCode(t, err, staff.CodeUnauthorized, "")
	s.SetClock(time.Now)

	id, _, _ = s.StartSession(ctx, r)
	if err := s.SetPassword(ctx, "cli:root", "ana@x.example", "another long password"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Session(ctx, id)
	wantStaffCode(t, err, staff.CodeUnauthorized, "")
	if _, err := s.Authenticate(ctx, "ana@x.example", pw); err == nil {
		t.Fatal("the old password still works")
	}
	wantStaffCode(t, s.SetPassword(ctx, "cli:root", "nobody@x.example", "another long password"), staff.CodeNotFound, "email")

	// Tokens: shown once, stored hashed, revocable, dead with the account.
	tok, err := s.IssueToken(ctx, "cli:root", "ana@x.example", "laptop")
	if err != nil || len(tok) < 40 || tok[:4] != staff.TokenPrefix {
		t.Fatalf("token %q %v", tok, err)
	}
	_, err = s.IssueToken(ctx, "cli:root", "ana@x.example", " ")
	wantStaffCode(t, err, staff.CodeInvalid, "label")
	if who, err := s.TokenReviewer(ctx, tok); err != nil || who.Email != "ana@x.example" {
		t.Fatalf("token reviewer: %+v %v", who, err)
	}
	id, _, _ = s.StartSession(ctx, r)
	if err := s.SetDisabled(ctx, "cli:root", "ana@x.example", true); err != nil {
		t.Fatal(err)
	}
	_, err = s.TokenReviewer(ctx, tok)
	wantStaffCode(t, err, staff.CodeUnauthorized, "")
	_, err = s.Session(ctx, id)
	wantStaffCode(t, err, staff.CodeUnauthorized, "")
	_, err = s.Authenticate(ctx, "ana@x.example", "another long password")
	wantStaffCode(t, err, staff.CodeUnauthorized, "")
	// Re-enabling does not bring revoked tokens back.
	if err := s.SetDisabled(ctx, "cli:root", "ana@x.example", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenReviewer(ctx, tok); err == nil {
		t.Fatal("a token revoked by disabling came back")
	}
	if err := s.SetRole(ctx, "cli:root", "ana@x.example", staff.RoleLead); err != nil {
		t.Fatal(err)
	}
	wantStaffCode(t, s.SetRole(ctx, "cli:root", "ana@x.example", "boss"), staff.CodeInvalid, "role")

	recs, err := s.AuditLog(ctx, "reviewer:ana@x.example", 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
		if r.Actor != "cli:root" {
			t.Errorf("audit %s by %q", r.Action, r.Actor)
		}
	}
	want := []string{"reviewer.role", "reviewer.enable", "reviewer.disable", "token.issue", "reviewer.password", "reviewer.create"}
	if len(actions) != len(want) {
		t.Fatalf("audit = %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("audit = %v, want %v", actions, want)
		}
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		has, needs staff.Role
		ok         bool
	}{
		{staff.RoleReviewer, staff.RoleReviewer, true},
		{staff.RoleReviewer, staff.RoleLead, false},
		{staff.RoleLead, staff.RoleReviewer, true},
		{staff.RoleLead, staff.RoleAdmin, false},
		{staff.RoleAdmin, staff.RoleLead, true},
		{"", staff.RoleReviewer, false},
	} {
		err := staff.Require(staff.Reviewer{Email: "x@y.example", Role: tt.has}, tt.needs, "this")
		if (err == nil) != tt.ok {
			t.Errorf("%q needs %q: %v", tt.has, tt.needs, err)
		}
		if err != nil && apperr.Code(err) != staff.CodeForbidden {
			t.Errorf("code %s", apperr.Code(err))
		}
	}
}
