package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/samgo/sam/safetensors"
)

// pinnedRuns are short training runs of every member of the SAM family, each with the first 16
// hex digits of the SHA-256 of its final weights (every tensor's float32 bits, in file order).
// The hashes were recorded with the code before the member registry (commit d6f5ce4), so they
// pin the redesign, and any later refactoring of the core, to bit-identical results. The two
// BatchNorm ResNet runs were re-recorded when the convolution's weight gradient became a sum of
// per-chunk products (issue 14): the other pins did not move, and the same runs with SGD instead
// of Adam end within 3e-7 (relative) of the old weights; Adam's first steps, about lr·sign(g)
// for each weight, turn float32 rounding differences in near-zero gradients into weight
// differences of up to 10% in 16 steps.
var pinnedRuns = []struct{ args, sha string }{
	{"--rho 0", "2762ecc7acd3a841"},
	{"--rho 0.05", "01d948f9c1e50b6a"},
	{"--rho 0.05 --opt sgd --momentum 0.9 --lr 0.05 --l2 0.001", "079ed49d52362a27"},
	{"--rho 0.05 --m 8", "c88ee370919f03e0"},
	{"--rho 0.5 --adaptive", "b5fa05f2ba5739f4"},
	{"--rho 0.05 --p inf", "4dd6db70fe6ee67f"},
	{"--rho 0.05 --p 3", "c1fc7b579d1a8518"},
	{"--rho 0.05 --ascent-steps 3", "747fc02612b3b0c1"},
	{"--rho 0.05 --variant usam", "78324a4196ff7d4a"},
	{"--rho 0.05 --variant gsam", "dcca25da170bf0f8"},
	{"--rho 0.1 --variant gsam --rho-min 0.02 --schedule cosine --opt sgd --lr 0.05", "a41edfe83b0f7e66"},
	{"--rho 0.5 --variant gsam --adaptive --gsam-alpha 0.3", "07663d295a6d395d"},
	{"--rho 0.05 --variant looksam --looksam-k 2 --looksam-alpha 0.3", "2cc471b9a5cf726d"},
	{"--rho 0.05 --variant esam", "56e3efa33e67201b"},
	{"--rho 0.05 --variant esam --esam-gamma 1 --ascent-steps 2", "6666b14d80f075d2"},
	{"--rho 0.05 --variant esam --esam-beta 1 --esam-gamma 0.3", "7efe50b1d54b9f28"},
	{"--rho 0.05 --variant samon --model resnet --width 1 --blocks 1", "a0492869cd76b475"},
	{"--rho 0.05 --variant esam --model resnet --width 1 --blocks 1", "9d8d6c8313c55831"},
}

// TestMembersPinned reruns the test binary with SAM_NOASM=1: the portable GEMM kernel rounds
// the same on every amd64 CPU (the assembly kernels differ between AVX2 and AVX-512, and the
// vector kernels equal their Go fallbacks bit for bit), so the pins hold on any machine.
func TestMembersPinned(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if os.Getenv("SAM_PINNED_CHILD") == "" {
		if runtime.GOARCH != "amd64" || goamd64() != "v1" {
			t.Skipf("the pins hold for amd64 code without fused multiply-add (GOAMD64=v1); this is %s %s", runtime.GOARCH, goamd64())
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestMembersPinned$")
		cmd.Env = append(os.Environ(), "SAM_PINNED_CHILD=1", "SAM_NOASM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	for _, tc := range pinnedRuns {
		t.Run(tc.args, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			args := []string{"train", "--data", "digits", "--train-size", "500", "--epochs", "1", "--seed", "2", "--quiet", "--out", out}
			if !strings.Contains(tc.args, "--model") {
				args = append(args, "--hidden", "16")
			}
			args = append(args, strings.Fields(tc.args)...)
			if code, _, stderr := runSam(t, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			ts, _, err := safetensors.ReadFile(filepath.Join(out, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			var b [4]byte
			for _, x := range ts {
				for _, v := range x.Data {
					binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
					h.Write(b[:])
				}
			}
			if got := hex.EncodeToString(h.Sum(nil))[:16]; got != tc.sha {
				t.Errorf("weights %s, pinned %s", got, tc.sha)
			}
		})
	}
}

// goamd64 is the GOAMD64 level the test binary was built for.
func goamd64() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOAMD64" {
				return s.Value
			}
		}
	}
	return "v1"
}
