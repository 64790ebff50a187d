// Command conformance checks Charter's evidence formats with Go's golang.org/x/mod/sumdb/note and
// sumdb/tlog, an implementation Charter shares no code with. It reads one JSON document on stdin
// (written by test/conformance/go-conformance.test.ts from a real ledger) and prints one JSON
// document of findings; every check is computed here from the raw bytes.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type input struct {
	LogKey     string   `json:"logKey"`
	Checkpoint string   `json:"checkpoint"`
	Records    [][]byte `json:"records"`
	Inclusion  []struct {
		Index int64       `json:"index"`
		Proof []tlog.Hash `json:"proof"`
	} `json:"inclusion"`
	Consistency []struct {
		Size  int64       `json:"size"`
		Root  tlog.Hash   `json:"root"`
		Proof []tlog.Hash `json:"proof"`
	} `json:"consistency"`
	Cosigned   string   `json:"cosigned"`
	WitnessKey string   `json:"witnessKey"`
	KeyNames   []string `json:"keyNames"`
	Notes      [][]byte `json:"notes"`
}

type output struct {
	Origin        string   `json:"origin"`
	Size          int64    `json:"size"`
	SignedBy      []string `json:"signedBy"`
	RootMatches   bool     `json:"rootMatches"`
	Inclusion     []string `json:"inclusion"`
	Consistency   []string `json:"consistency"`
	Cosigners     []string `json:"cosigners"`
	CosignedAt    []uint64 `json:"cosignedAt"`
	KeyNamesValid []bool   `json:"keyNamesValid"`
	NotesOpen     []bool   `json:"notesOpen"`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail(err)
	}
	var out output
	logVerifier, err := note.NewVerifier(in.LogKey)
	if err != nil {
		fail(err)
	}

	// The checkpoint: a signed note whose text is origin, size and base64 root, one per line.
	n, err := note.Open([]byte(in.Checkpoint), note.VerifierList(logVerifier))
	if err != nil {
		fail(err)
	}
	for _, s := range n.Sigs {
		out.SignedBy = append(out.SignedBy, s.Name)
	}
	origin, size, root, err := parseCheckpoint(n.Text)
	if err != nil {
		fail(err)
	}
	out.Origin, out.Size = origin, size

	// The tree over the record files, built by tlog from the raw bytes of each record.
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		hashes := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			hashes[i] = stored[x]
		}
		return hashes, nil
	})
	for i, record := range in.Records {
		hashes, err := tlog.StoredHashes(int64(i), record, reader)
		if err != nil {
			fail(err)
		}
		stored = append(stored, hashes...)
	}
	treeHash, err := tlog.TreeHash(int64(len(in.Records)), reader)
	if err != nil {
		fail(err)
	}
	out.RootMatches = treeHash == root && int64(len(in.Records)) == size

	for _, c := range in.Inclusion {
		out.Inclusion = append(out.Inclusion, result(tlog.CheckRecord(c.Proof, size, root, c.Index, tlog.RecordHash(in.Records[c.Index]))))
	}
	for _, c := range in.Consistency {
		out.Consistency = append(out.Consistency, result(tlog.CheckTree(c.Proof, size, root, c.Size, c.Root)))
	}

	// A witness cosignature (C2SP tlog-cosignature v1): x/mod has no verifier for signature type
	// 0x04, but note.Open takes any Verifier, so the cosignature is checked here with ed25519.
	if in.Cosigned != "" {
		witness, err := newCosignatureVerifier(in.WitnessKey)
		if err != nil {
			fail(err)
		}
		cn, err := note.Open([]byte(in.Cosigned), note.VerifierList(logVerifier, witness))
		if err != nil {
			fail(err)
		}
		for _, s := range cn.Sigs {
			out.Cosigners = append(out.Cosigners, s.Name)
		}
		out.CosignedAt = witness.times
	}

	// Key names: does Go accept a verifier key with this name (and the right key ID)?
	pub := logVerifierKeyBytes(in.LogKey)
	for _, name := range in.KeyNames {
		h := sha256.Sum256(append(append([]byte(name), '\n'), pub...))
		vkey := fmt.Sprintf("%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]), base64.StdEncoding.EncodeToString(pub))
		_, err := note.NewVerifier(vkey)
		out.KeyNamesValid = append(out.KeyNamesValid, err == nil)
	}
	for _, msg := range in.Notes {
		_, err := note.Open(msg, note.VerifierList(logVerifier))
		out.NotesOpen = append(out.NotesOpen, err == nil)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func parseCheckpoint(text string) (string, int64, tlog.Hash, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return "", 0, tlog.Hash{}, errors.New("checkpoint has fewer than three lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return "", 0, tlog.Hash{}, err
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return "", 0, tlog.Hash{}, errors.New("checkpoint root is not a base64 SHA-256 hash")
	}
	var root tlog.Hash
	copy(root[:], raw)
	return lines[0], size, root, nil
}

type cosignatureVerifier struct {
	name  string
	hash  uint32
	key   ed25519.PublicKey
	times []uint64
}

func newCosignatureVerifier(vkey string) (*cosignatureVerifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("malformed witness key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return nil, errors.New("witness key is not type 0x04 Ed25519")
	}
	h := sha256.Sum256(append(append([]byte(parts[0]), '\n'), raw...))
	id, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || uint32(id) != binary.BigEndian.Uint32(h[:4]) {
		return nil, errors.New("witness key ID does not match")
	}
	return &cosignatureVerifier{name: parts[0], hash: uint32(id), key: ed25519.PublicKey(raw[1:])}, nil
}

func (v *cosignatureVerifier) Name() string    { return v.name }
func (v *cosignatureVerifier) KeyHash() uint32 { return v.hash }

// Verify checks timestamp[8] ‖ signature[64] over "cosignature/v1\ntime <t>\n" and the note text.
func (v *cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	var signed bytes.Buffer
	fmt.Fprintf(&signed, "cosignature/v1\ntime %d\n", t)
	signed.Write(msg)
	if !ed25519.Verify(v.key, signed.Bytes(), sig[8:]) {
		return false
	}
	v.times = append(v.times, t)
	return true
}

func logVerifierKeyBytes(vkey string) []byte {
	parts := strings.SplitN(vkey, "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		fail(err)
	}
	return raw
}

func result(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "conformance:", err)
	os.Exit(1)
}
