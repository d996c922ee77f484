package main

import (
	"strings"
	"testing"
	"time"
)

// The README's command: 4 members, full mesh, one leaves.
func TestMesh(t *testing.T) {
	var out strings.Builder
	if err := run(4, 30*time.Second, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"peer1 heard: hello from peer2; hello from peer3; hello from peer4",
		"peer4 heard: hello from peer1; hello from peer2; hello from peer3",
		"peer1 noticed peer4 leave", "peer2 noticed peer4 leave", "peer3 noticed peer4 leave",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
