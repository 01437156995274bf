package main

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated sections of README.md (flags, variants)")

// TestREADMEFlags keeps the flag reference in README.md equal to `sam train --help`.
// After changing flags: go test ./cmd/sam -run TestREADMEFlags -update
func TestREADMEFlags(t *testing.T) {
	_, help, _ := runSam(t, "train", "--help")
	i := strings.Index(help, "Flags:\n")
	if i < 0 {
		t.Fatalf("no Flags section in --help:\n%s", help)
	}
	readmeSection(t, "<!-- flags:begin (generated: go test ./cmd/sam -run TestREADMEFlags -update) -->\n```text\n", "```\n<!-- flags:end -->", help[i:])
}

// TestREADMEVariants keeps the members table in README.md equal to `sam variants --markdown`,
// which reads the registry in package sam. After adding a member:
// go test ./cmd/sam -run TestREADMEVariants -update
func TestREADMEVariants(t *testing.T) {
	code, table, _ := runSam(t, "variants", "--markdown")
	if code != 0 || !strings.Contains(table, "| `sam` |") {
		t.Fatalf("sam variants --markdown: exit %d\n%s", code, table)
	}
	readmeSection(t, "<!-- variants:begin (generated: go test ./cmd/sam -run TestREADMEVariants -update) -->\n", "<!-- variants:end -->", table)
}

// readmeSection checks that README.md holds want between the markers begin and end, and with
// -update writes it there.
func readmeSection(t *testing.T, begin, end, want string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	lo, hi := strings.Index(readme, begin), strings.Index(readme, end)
	if lo < 0 || hi < lo {
		t.Fatalf("README.md has no section markers %q", begin)
	}
	if readme[lo+len(begin):hi] == want {
		return
	}
	if !*update {
		t.Fatalf("README.md's section %q is stale; run: go test ./cmd/sam -run TestREADME -update", begin)
	}
	readme = readme[:lo+len(begin)] + want + readme[hi:]
	if err := os.WriteFile("../../README.md", []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
}
