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

// TestREADMEVariants keeps the members table in README.md equal to `sam variants --markdown`,
// which reads the registry in package sam. After adding a member:
// go test ./cmd/sam -run TestREADMEVariants -update
func TestREADMEVariants(t *testing.T) {
	const begin, end = "<!-- variants:begin (generated: go test ./cmd/sam -run TestREADMEVariants -update) -->\n", "<!-- variants:end -->"
	code, table, _ := runSam(t, "variants", "--markdown")
	if code != 0 || !strings.Contains(table, "| `sam` |") {
		t.Fatalf("sam variants --markdown: exit %d\n%s", code, table)
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	lo, hi := strings.Index(readme, begin), strings.Index(readme, end)
	if lo < 0 || hi < lo {
		t.Fatal("README.md has no variants section markers")
	}
	if got := readme[lo+len(begin) : hi]; got != table {
		if !*update {
			t.Fatalf("README.md's variants table is stale; run: go test ./cmd/sam -run TestREADMEVariants -update")
		}
		readme = readme[:lo+len(begin)] + table + readme[hi:]
		if err := os.WriteFile("../../README.md", []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
