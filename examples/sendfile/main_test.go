package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gosimplepeer/simplepeer/internal/leakcheck"
)

// TestMain fails the tests if they leave goroutines behind.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// A generated file crosses two in-process peers intact (the SHA-256 of what
// arrived matches), with plain progress lines when not on a terminal.
func TestSendLocal(t *testing.T) {
	const n = 4 << 20
	src, size, err := source("", "4MiB")
	if err != nil || size != n {
		t.Fatalf("source: %d bytes, %v", size, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := sendLocal(ctx, src, size, &lines{total: size, out: &out, start: time.Now()})
	if err != nil || !res.ok || res.bytes != n {
		t.Fatalf("sendLocal: %+v, %v", res, err)
	}
	if got := strings.Count(out.String(), "progress: "); got != 10 {
		t.Errorf("%d progress lines, want 10:\n%s", got, out.String())
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"200MB": 200e6, "1.5GiB": 3 << 29, "4096": 4096, "64 KiB": 64 << 10, "7B": 7} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1MB", "ten"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}
