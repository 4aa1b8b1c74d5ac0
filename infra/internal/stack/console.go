package stack

import (
	"fmt"
	"io"
	"sync"
)

// Console serialises the stack's own lines with the children's, which share
// the same mutex, so output never interleaves mid-line.
type Console struct {
	Mu *sync.Mutex
	W  io.Writer
}

// NewConsole writes to w under a new mutex.
func NewConsole(w io.Writer) *Console { return &Console{Mu: &sync.Mutex{}, W: w} }

// Printf writes under the console's mutex.
func (c *Console) Printf(format string, args ...any) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	fmt.Fprintf(c.W, format, args...)
}

// Logf writes one "stack: …" line.
func (c *Console) Logf(format string, args ...any) {
	c.Printf("stack: "+format+"\n", args...)
}
