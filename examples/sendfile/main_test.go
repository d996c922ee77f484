package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
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

// Flags are checked before anything starts: bad combinations are refused
// with a reason and the usage.
func TestParseFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sig := "ws://127.0.0.1:8090"
	for _, args := range [][]string{
		{}, {"-size", "1MB"}, {"-send", file},
		{"-signal", sig, "-recv", dir}, {"-signal", sig, "-recv", dir, "-force", "-room", "r", "-stun", "stun:x"},
		{"-signal", sig, "-send", file}, {"-signal", sig, "-size", "200MB", "-timeout", "1m"},
	} {
		var out bytes.Buffer
		if _, err := parseFlags(args, &out); err != nil {
			t.Errorf("%q: %v\n%s", args, err, &out)
		}
	}
	for args, want := range map[string]string{
		"-recv " + dir:                 "-recv needs -signal",
		"-room r":                      "-room needs -signal",
		"-send " + file + " -size 1MB": "not both",
		"-send " + dir:                 "not a regular file",
		"-size ten":                    "bad size",
		"-timeout 0s":                  "-timeout must be positive",
		"-signal " + sig:               "give -recv DIR",
		"-signal " + sig + " -recv " + dir + " -size 1MB": "takes no -send or -size",
		"-signal " + sig + " -recv " + file:               "not a directory",
		"-signal " + sig + " -send " + file + " -force":   "-force goes with -recv",
		"-signal " + sig + " -recv " + dir + " extra":     "unexpected argument",
		"-bogus": "not defined",
	} {
		var out bytes.Buffer
		_, err := parseFlags(strings.Fields(args), &out)
		if err == nil || !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%q: %v, printed:\n%s\nwant %q and the usage", args, err, &out, want)
		}
	}
	var out bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-signal URL") {
		t.Errorf("-h: %v, printed:\n%s", err, &out)
	}
}
