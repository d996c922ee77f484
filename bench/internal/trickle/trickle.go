// Package trickle holds a raw Pion peer's remote ICE candidates until it
// has a remote description (Pion rejects them before), for the benchmarks'
// raw-Pion pairs.
package trickle

import (
	"sync"

	"github.com/pion/webrtc/v3"
)

// Candidates trickles candidates to PC, holding them until Flush.
type Candidates struct {
	PC *webrtc.PeerConnection

	mu    sync.Mutex
	ready bool
	held  []webrtc.ICECandidateInit
}

// Add gives ci to PC, or holds it until Flush.
func (c *Candidates) Add(ci webrtc.ICECandidateInit) error {
	c.mu.Lock()
	if !c.ready {
		c.held = append(c.held, ci)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return c.PC.AddICECandidate(ci)
}

// Flush is called once PC has its remote description: the candidates held
// so far go to PC, later ones straight away.
func (c *Candidates) Flush() error {
	c.mu.Lock()
	c.ready = true
	held := c.held
	c.held = nil
	c.mu.Unlock()
	for _, ci := range held {
		if err := c.PC.AddICECandidate(ci); err != nil {
			return err
		}
	}
	return nil
}
