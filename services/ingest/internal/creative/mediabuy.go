package creative

import (
	"context"
	"errors"
)

// SyncMediaBuy runs the sales-agent route: a sync into the account that
// owns the media buy. When the request names no assignments, every synced
// creative is assigned to every package of the buy, which is what that
// route promises. Another principal's media buy is not found, like a
// missing one.
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
	if err := gateWrite(acct); err != nil {
		return SyncResponse{}, err
	}
	sync := cmd.Sync
	if len(sync.Assignments) == 0 {
		for _, in := range sync.Creatives {
			for _, pkg := range pkgs {
				sync.Assignments = append(sync.Assignments, Assignment{CreativeID: in.CreativeID, PackageID: pkg})
			}
		}
	}
	return s.syncInto(ctx, p, acct, false, sync, correlationID)
}
