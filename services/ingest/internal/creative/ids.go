package creative

import "github.com/google/uuid"

// newUUID gives event ids; they double as JetStream message ids.
func newUUID() string { return uuid.NewString() }
