package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The two-process protocol, over the peer's net.Conn (a byte stream):
//
//	sender   → {"name":"big.iso","size":123}\n     the header, one JSON line
//	receiver → {"ok":true}\n                       or {"error":"..."}\n: refused
//	sender   → 123 bytes, then their 32-byte SHA-256
//	receiver → {"ok":true}\n                       the file is in place; or
//	                                               {"error":"..."}\n: it is not
//
// The size comes first, so the body needs no framing and the receiver knows
// where the hash starts; the hash comes last, so the sender reads its file
// once, hashing as it sends. The receiver answers the header before any
// byte is sent, so that a refusal (a file of that name exists) costs
// nothing, and answers again once it has checked the size and hash and
// renamed the file into place, so that the sender's exit status says
// whether the file arrived.

// header is the first line the sender writes.
type header struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// reply is the receiver's answer, to the header and after the hash.
type reply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
}

// maxLine bounds a header or reply line.
const maxLine = 4096

// writeLine writes v as one JSON line.
func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// readLine reads one JSON line of at most maxLine bytes into v. The end of
// the stream before the line is io.ErrUnexpectedEOF.
func readLine(br *bufio.Reader, v any) error {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return fmt.Errorf("line longer than %d bytes", maxLine)
	case errors.Is(err, io.EOF):
		return io.ErrUnexpectedEOF
	case err != nil:
		return err
	}
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("bad line %q: %w", bytes.TrimSpace(line), err)
	}
	return nil
}

// readReply reads a reply and turns a refusal into an error.
func readReply(br *bufio.Reader) error {
	var r reply
	if err := readLine(br, &r); err != nil {
		return err
	}
	if !r.OK {
		if r.Error == "" {
			r.Error = "no reason given"
		}
		return errors.New(r.Error)
	}
	return nil
}

// sendOver sends size bytes of src, named name, over conn, and waits for
// the receiver to confirm that they arrived intact. The result's bytes and
// elapsed count from the first byte of the body to the receiver's
// confirmation.
func sendOver(conn io.ReadWriter, name string, src io.Reader, size int64, progress io.WriteCloser) (result, error) {
	defer progress.Close()
	br := bufio.NewReaderSize(conn, maxLine)
	if err := writeLine(conn, header{Name: name, Size: size}); err != nil {
		return result{}, fmt.Errorf("failed to send the header: %w", err)
	}
	if err := readReply(br); errors.Is(err, io.ErrUnexpectedEOF) {
		return result{}, errors.New("the receiver hung up before answering (busy with another sender?)")
	} else if err != nil {
		return result{}, fmt.Errorf("the receiver refused the file: %w", err)
	}
	sum := sha256.New()
	start := time.Now()
	in := &readErr{r: src}
	n, err := io.CopyN(conn, io.TeeReader(in, io.MultiWriter(sum, progress)), size)
	if errors.Is(err, io.EOF) {
		return result{bytes: n}, fmt.Errorf("the source ended after %d of %d bytes", n, size)
	}
	if in.err != nil {
		return result{bytes: n}, fmt.Errorf("failed to read what to send: %w", in.err)
	}
	if err != nil {
		return result{bytes: n}, fmt.Errorf("failed to send after %d of %d bytes (did the receiver stop?): %w", n, size, err)
	}
	_ = progress.Close() // the bar's last line before the wait for the verdict
	res := result{bytes: n, sum: sum.Sum(nil)}
	if _, err := conn.Write(res.sum); err != nil {
		return res, fmt.Errorf("failed to send the SHA-256: %w", err)
	}
	if err := readReply(br); err != nil {
		return res, fmt.Errorf("the receiver did not keep the file: %w", err)
	}
	res.elapsed, res.ok = time.Since(start), true
	return res, nil
}

// readErr remembers the error its reader returned, other than io.EOF, to
// tell it from a failure to send.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// received is what receiveOver stored, or sendRemote sent.
type received struct {
	result
	path string // where the file is (receiver), the name it was sent as (sender)
}

// receiveOver receives one file from conn into dir, as the header names
// it. The body goes to a temporary file in dir (".NAME.part-*"), renamed to
// dir/NAME once its size and SHA-256 are right, and removed otherwise. A
// file dir/NAME that exists is refused unless force, in which case it is
// replaced. newProgress is called with the header, before the body.
func receiveOver(conn io.ReadWriter, dir string, force bool, newProgress func(h header) io.WriteCloser) (received, error) {
	br := bufio.NewReaderSize(conn, maxLine)
	var h header
	if err := readLine(br, &h); errors.Is(err, io.ErrUnexpectedEOF) {
		return received{}, errors.New("the sender hung up before sending a header (busy with another receiver?)")
	} else if err != nil {
		return received{}, fmt.Errorf("failed to read the header: %w", err)
	}
	refuse := func(err error) (received, error) {
		_ = writeLine(conn, reply{Error: err.Error()})
		return received{}, err
	}
	name, err := safeName(h.Name)
	if err != nil {
		return refuse(err)
	}
	if h.Size < 0 {
		return refuse(fmt.Errorf("bad size %d", h.Size))
	}
	final := filepath.Join(dir, name)
	if !force {
		if _, err := os.Lstat(final); err == nil {
			return refuse(fmt.Errorf("%s already exists on the receiver (it may pass -force)", name))
		}
	}
	tmp, err := os.CreateTemp(dir, "."+name+".part-*")
	if err != nil {
		return refuse(errors.New("the receiver cannot create the file"))
	}
	kept := false
	defer func() {
		if !kept {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := writeLine(conn, reply{OK: true}); err != nil {
		return received{}, fmt.Errorf("failed to answer the header: %w", err)
	}

	progress := newProgress(h)
	defer progress.Close()
	sum := sha256.New()
	start := time.Now()
	n, err := io.CopyN(io.MultiWriter(tmp, sum, progress), br, h.Size)
	res := received{result: result{bytes: n}, path: final}
	if errors.Is(err, io.EOF) {
		return res, fmt.Errorf("the sender stopped after %d of %d bytes", n, h.Size)
	}
	if err != nil {
		return res, fmt.Errorf("failed to receive: %w", err)
	}
	_ = progress.Close()
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(br, want); err != nil {
		return res, fmt.Errorf("failed to read the sender's SHA-256: %w", err)
	}
	res.sum = sum.Sum(nil)
	if !bytes.Equal(res.sum, want) {
		_ = writeLine(conn, reply{Error: "SHA-256 mismatch"})
		return res, fmt.Errorf("SHA-256 mismatch: received %x, the sender sent %x", res.sum, want)
	}
	if err := keep(tmp, final, force); err != nil {
		_ = writeLine(conn, reply{Error: "the receiver could not store the file"})
		return res, err
	}
	kept = true
	res.elapsed, res.ok = time.Since(start), true
	if err := writeLine(conn, reply{OK: true}); err != nil {
		// The file is in place and intact; only the sender does not know.
		return res, fmt.Errorf("stored %s, but failed to tell the sender: %w", final, err)
	}
	return res, nil
}

// keep closes tmp and moves it to final: with force replacing what is
// there, without refusing to (a hard link fails if final exists, which an
// existence check and a rename would race with).
func keep(tmp *os.File, final string, force bool) error {
	err := tmp.Chmod(0o644) // CreateTemp's 0600 is for the partial file only
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", tmp.Name(), err)
	}
	if force {
		return os.Rename(tmp.Name(), final)
	}
	err = os.Link(tmp.Name(), final)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s appeared during the transfer; not replaced without -force", final)
	}
	if err != nil { // no hard links here (some file systems): check and rename
		if _, serr := os.Lstat(final); serr == nil {
			return fmt.Errorf("%s appeared during the transfer; not replaced without -force", final)
		}
		return os.Rename(tmp.Name(), final)
	}
	return os.Remove(tmp.Name())
}

// safeName returns name if it is a plain file name: no directory part, not
// absolute, not "." or "..", not empty, no NUL; anything else is refused
// rather than cleaned up, as it did not come from a well-behaved sender.
func safeName(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") ||
		filepath.IsAbs(name) || filepath.Base(name) != name || !filepath.IsLocal(name) {
		return "", fmt.Errorf("refused file name %q: want a plain file name", name)
	}
	return name, nil
}
