package main

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the flags section of README.md from `sam train --help`")

// TestREADMEFlags keeps the flag reference in README.md equal to `sam train --help`.
// After changing flags: go test ./cmd/sam -run TestREADMEFlags -update
func TestREADMEFlags(t *testing.T) {
	const begin, end = "<!-- flags:begin (generated: go test ./cmd/sam -run TestREADMEFlags -update) -->\n```text\n", "```\n<!-- flags:end -->"
	_, help, _ := runSam(t, "train", "--help")
	i := strings.Index(help, "Flags:\n")
	if i < 0 {
		t.Fatalf("no Flags section in --help:\n%s", help)
	}
	flags := help[i:]
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	lo, hi := strings.Index(readme, begin), strings.Index(readme, end)
	if lo < 0 || hi < lo {
		t.Fatal("README.md has no flags section markers")
	}
	if got := readme[lo+len(begin) : hi]; got != flags {
		if !*update {
			t.Fatalf("README.md's flags section is stale; run: go test ./cmd/sam -run TestREADMEFlags -update")
		}
		readme = readme[:lo+len(begin)] + flags + readme[hi:]
		if err := os.WriteFile("../../README.md", []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
