package agent

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// loadOrCreateToken returns the cluster's join token kept at path. A token
// given on the command line (when joining) is stored there; otherwise an
// existing file is read, or a new random token written (first agent).
func loadOrCreateToken(path, given string) (string, error) {
	if given != "" {
		return given, writeFileAtomic(path, []byte(given+"\n"), 0o600)
	}
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read join token: %w", err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate join token: %w", err)
	}
	tok := hex.EncodeToString(buf)
	return tok, writeFileAtomic(path, []byte(tok+"\n"), 0o600)
}

// tokenOK compares tokens in constant time.
func tokenOK(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// writeFileAtomic writes data to a temporary file, fsyncs it and renames it
// into place, so a crash never leaves a half-written file under path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}
