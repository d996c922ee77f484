package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nopProgress is a progress that shows nothing.
type nopProgress struct{}

func (nopProgress) Write(b []byte) (int, error) { return len(b), nil }
func (nopProgress) Close() error                { return nil }

func noProgress(header) io.WriteCloser { return nopProgress{} }

// transfer runs sendOver and receiveOver on the two ends of a net.Pipe.
func transfer(t *testing.T, name string, data []byte, dir string, force bool) (sres result, rres received, serr, rerr error) {
	t.Helper()
	a, b := net.Pipe()
	type recvOut struct {
		res received
		err error
	}
	done := make(chan recvOut, 1)
	go func() {
		res, err := receiveOver(b, dir, force, noProgress)
		_ = b.Close()
		done <- recvOut{res, err}
	}()
	sres, serr = sendOver(a, name, bytes.NewReader(data), int64(len(data)), nopProgress{})
	_ = a.Close()
	r := <-done
	return sres, r.res, serr, r.err
}

// files lists dir's entries, temporary files included.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestProtocolSendsAFile(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("sendfile "), 100_000)
	sres, rres, serr, rerr := transfer(t, "a.txt", data, dir, false)
	if serr != nil || rerr != nil || !sres.ok || !rres.ok {
		t.Fatalf("send: %+v, %v; receive: %+v, %v", sres, serr, rres, rerr)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "a.txt")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes (%v), want the %d sent", len(got), err, len(data))
	}
	want := sha256.Sum256(data)
	if !bytes.Equal(sres.sum, want[:]) || !bytes.Equal(rres.sum, want[:]) {
		t.Errorf("sums %x and %x, want %x", sres.sum, rres.sum, want)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Errorf("dir holds %q, want a.txt only", got)
	}
	if st, err := os.Stat(filepath.Join(dir, "a.txt")); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode(), err)
	}
}

func TestProtocolEmptyFile(t *testing.T) {
	dir := t.TempDir()
	if _, _, serr, rerr := transfer(t, "empty", nil, dir, false); serr != nil || rerr != nil {
		t.Fatalf("send: %v; receive: %v", serr, rerr)
	}
	if st, err := os.Stat(filepath.Join(dir, "empty")); err != nil || st.Size() != 0 {
		t.Fatalf("stat: %v, %v", st, err)
	}
}

// An existing file is refused before any byte is sent, and replaced with
// force.
func TestProtocolExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, serr, rerr := transfer(t, "a.txt", []byte("new"), dir, false)
	if serr == nil || rerr == nil || !strings.Contains(serr.Error(), "already exists") {
		t.Fatalf("send: %v; receive: %v; want both refused", serr, rerr)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("a.txt is %q, want it untouched", got)
	}
	if _, _, serr, rerr := transfer(t, "a.txt", []byte("new"), dir, true); serr != nil || rerr != nil {
		t.Fatalf("with force: send: %v; receive: %v", serr, rerr)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Fatalf("a.txt is %q after -force, want new", got)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Errorf("dir holds %q, want a.txt only", got)
	}
}

func TestProtocolRefusesBadNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", "../x", "a/b", "/etc/passwd", `a\b`, "x\x00y"} {
		_, _, serr, rerr := transfer(t, name, []byte("x"), dir, false)
		if serr == nil || rerr == nil {
			t.Errorf("%q: send: %v; receive: %v; want both refused", name, serr, rerr)
		}
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("dir holds %q, want nothing", got)
	}
	for _, name := range []string{"a.txt", ".hidden", "x..y", "with space"} {
		if _, err := safeName(name); err != nil {
			t.Errorf("safeName(%q): %v", name, err)
		}
	}
}

// fakeSender sends a header and body, then sum (or closes early if body is
// shorter than size), and returns the receiver's last reply.
func fakeSender(t *testing.T, dir string, size int, body, sum []byte) (verdict, rerr error) {
	t.Helper()
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := receiveOver(b, dir, false, noProgress)
		_ = b.Close()
		done <- err
	}()
	br := bufio.NewReader(a)
	if err := writeLine(a, header{Name: "f", Size: int64(size)}); err != nil {
		t.Fatal(err)
	}
	if err := readReply(br); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(body); err != nil {
		t.Fatal(err)
	}
	if len(body) == size {
		if _, err := a.Write(sum); err != nil {
			t.Fatal(err)
		}
		verdict = readReply(br)
	}
	_ = a.Close()
	return verdict, <-done
}

// A bad hash or a short body leaves nothing in the directory, and the
// sender is told.
func TestProtocolBadHashAndShortBody(t *testing.T) {
	dir := t.TempDir()
	body := bytes.Repeat([]byte{1}, 100_000)
	wrong := sha256.Sum256([]byte("something else"))
	verdict, rerr := fakeSender(t, dir, len(body), body, wrong[:])
	if verdict == nil || rerr == nil || !strings.Contains(rerr.Error(), "SHA-256 mismatch") {
		t.Errorf("bad hash: sender told %v, receiver %v", verdict, rerr)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("after a bad hash dir holds %q, want nothing", got)
	}
	_, rerr = fakeSender(t, dir, len(body), body[:len(body)/2], nil)
	if rerr == nil || !strings.Contains(rerr.Error(), "stopped after 50000 of 100000 bytes") {
		t.Errorf("short body: receiver %v", rerr)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("after a short body dir holds %q, want nothing", got)
	}
}

// The receiver reads a header line of bounded length.
func TestProtocolLongHeader(t *testing.T) {
	a, b := net.Pipe()
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() {
		_, err := receiveOver(b, dir, false, noProgress)
		_ = b.Close()
		done <- err
	}()
	go func() { _, _ = a.Write(bytes.Repeat([]byte("x"), 2*maxLine)) }()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("receiveOver: %v", err)
	}
	_ = a.Close()
}
