package creative

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// SyncMediaBuy runs the sales-agent route: a sync into the account that
// owns the media buy. Assignments name media buys (cmd.Assign), each
// creative going to every package of the buy; when the request names none,
// every synced creative is assigned to every package of the route's buy,
// which is what that route promises. Another principal's media buy is not
// found, like a missing one; so is a buy of another account, since one sync
// writes one account's library.
func (s *Service) SyncMediaBuy(ctx context.Context, p Principal, cmd MediaBuySync, correlationID string) (SyncResponse, error) {
	accountID, pkgs, err := s.store.MediaBuyPackages(ctx, p.ID, cmd.MediaBuyID)
	if errors.Is(err, ErrNotFound) {
		return SyncResponse{}, Reject(CodeMediaBuyNotFound, "media_buy_id", "no such media buy")
	}
	if err != nil {
		return SyncResponse{}, err
	}
	acct, err := s.ResolveAccount(ctx, p, AccountRef{AccountID: accountID})
	if err != nil {
		return SyncResponse{}, err
	}
	sync := cmd.Sync
	if cmd.Assign == nil {
		for _, in := range sync.Creatives {
			for _, pkg := range pkgs {
				sync.Assignments = append(sync.Assignments, Assignment{CreativeID: in.CreativeID, PackageID: pkg})
			}
		}
		return s.syncInto(ctx, p, acct, sync, correlationID)
	}
	buys := make([]string, 0, len(cmd.Assign))
	for id := range cmd.Assign {
		buys = append(buys, id)
	}
	sort.Strings(buys) // assignments in a stable order
	for _, mb := range buys {
		buyPkgs := pkgs
		if mb != cmd.MediaBuyID {
			acctOf, other, err := s.store.MediaBuyPackages(ctx, p.ID, mb)
			if errors.Is(err, ErrNotFound) || (err == nil && acctOf != accountID) {
				return SyncResponse{}, Reject(CodeMediaBuyNotFound, "assignments."+mb,
					fmt.Sprintf("no media buy %s in the account of media buy %s", mb, cmd.MediaBuyID))
			}
			if err != nil {
				return SyncResponse{}, err
			}
			buyPkgs = other
		}
		for _, cid := range cmd.Assign[mb] {
			for _, pkg := range buyPkgs {
				sync.Assignments = append(sync.Assignments, Assignment{CreativeID: cid, PackageID: pkg})
			}
		}
	}
	if len(sync.Assignments) > MaxAssignments {
		return SyncResponse{}, Reject(CodeValidation, "assignments",
			fmt.Sprintf("these media buys expand to %d package assignments; at most %d per sync", len(sync.Assignments), MaxAssignments))
	}
	return s.syncInto(ctx, p, acct, sync, correlationID)
}
