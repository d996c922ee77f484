package simplepeer_test

import (
	"testing"

	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
)

// TestMain runs the tests, then fails if goroutines started by them are
// still alive: the library promises that no goroutine outlives Close (the
// README's "no goroutine left behind"), and every test closes its peers.
func TestMain(m *testing.M) { leakcheck.Main(m) }
