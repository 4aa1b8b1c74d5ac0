package review

import (
	"errors"

	"example.com/creativesync/platform/apperr"
)

// Error codes the review domain returns. The HTTP edge maps them to
// statuses; nothing below it knows about HTTP.
const (
	CodeInvalidRequest = "INVALID_REQUEST"
	CodeNotFound       = "REVIEW_NOT_FOUND"
	CodeAlreadyDecided = "ALREADY_DECIDED"
	CodeSuperseded     = "REVISION_SUPERSEDED"
	CodeInvalidEvent   = "INVALID_EVENT"
	CodeClaimed        = "CLAIMED_BY_OTHER"
)

// ErrAlreadyReviewed is returned by Store.CreateReview when the revision has
// a review already: a redelivered event, which must change nothing.
var ErrAlreadyReviewed = errors.New("revision already reviewed")

func invalidf(field, format string, args ...any) error {
	return apperr.Newf(CodeInvalidRequest, format, args...).WithField(field)
}

// NotFound returns the error for a missing review.
func NotFound(k Key) error {
	return apperr.Newf(CodeNotFound, "no review for creative %q revision %d in account %q", k.CreativeID, k.Revision, k.AccountID)
}
