package ui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samgo/sam/sweep"
)

func put(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// putAtomic replaces path the way sam train does: a temporary file renamed over it.
func putAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	put(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func tinyPNG(t testing.TB, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

const (
	metrics3 = `{"epoch":1,"step":10,"train_loss":2.0,"train_acc":0.3,"val_loss":1.9,"val_acc":0.35,"lr":0.1,"seconds":0.5}
{"epoch":2,"step":20,"train_loss":1.5,"train_acc":0.5,"val_loss":1.4,"val_acc":0.55,"lr":0.1,"seconds":1.0,"lambda_max":3.5}
{"epoch":3,"step":30,"train_loss":1.0,"train_acc":0.7,"val_loss":1.1,"val_acc":0.65,"lr":0.1,"seconds":1.5}
`
	summaryA = `{"config":{"data":"digits","model":{"model":"mlp","hidden":[32,16]},"optimizer":{"name":"sgd"},
"sam":{"rho":0.05,"adaptive":true},"lr":0.1,"seed":7},"steps":30,"epochs":3,"train_loss":0.9,"train_acc":0.72,
"val_loss":1.1,"val_acc":0.65,"test_loss":1.2,"test_acc":0.61,"wall_seconds":1.6}`
	sharpJSON = `{"lambda_max":3.25,"trace":40.5,"trace_stderr":1.5,"sam_sharpness":0.02,"top_eigenvalues":[3.25,2.5]}`
)

func trial(id string, rho float64, seed, fold int, valAcc float64) string {
	return fmt.Sprintf(`{"id":%q,"kind":"cv","rho":%g,"lr":0.001,"l2":0,"seed":%d,"fold":%d,
"config":{"data":"wine","model":{"model":"mlp","hidden":[8]},"optimizer":{"name":"adam"},"sam":{"rho":%g},"lr":0.001,"seed":%d},
"epochs":[{"epoch":1,"step":5,"train_loss":1.0,"val_acc":%g,"lr":0.001,"seconds":0.1}],
"final":{"steps":5,"train_loss":1.0,"val_loss":%g,"val_acc":%g,"wall_seconds":0.1}}`, id, rho, seed, fold, rho, seed, valAcc, 1-valAcc, valAcc)
}

// fixture writes a folder of runs: a finished training run with λ_max, a nested checkpoint with
// sharpness outputs, and a two-ρ sweep with two seeds.
func fixture(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "runs")
	put(t, filepath.Join(dir, "a", "metrics.jsonl"), metrics3)
	put(t, filepath.Join(dir, "a", "summary.json"), summaryA)
	put(t, filepath.Join(dir, "a", "model.safetensors"), "weights")
	put(t, filepath.Join(dir, "deep", "ckpt", "sharpness.json"), sharpJSON)
	put(t, filepath.Join(dir, "deep", "ckpt", "density.csv"), "eigenvalue,density\n-0.5,0.01\n0,2\n3.25,0.1\n")
	tinyPNG(t, filepath.Join(dir, "deep", "ckpt", "density.png"))
	tinyPNG(t, filepath.Join(dir, "deep", "ckpt", "landscape_1d.png"))
	sw := filepath.Join(dir, "sw")
	put(t, filepath.Join(sw, "sweep.json"), `{"base":{"data":"wine","model":{"model":"mlp","hidden":[8]},"optimizer":{"name":"adam"},"sam":{"rho":0}},
"rho":[0,0.1],"lr":[0.001],"l2":[0],"seeds":2}`)
	for i, tr := range []struct {
		rho  float64
		seed int
		acc  float64
	}{{0, 1, 0.80}, {0, 2, 0.84}, {0.1, 1, 0.90}, {0.1, 2, 0.86}} {
		id := fmt.Sprintf("t%d", i)
		put(t, filepath.Join(sw, "trials", id+".json"), trial(id, tr.rho, tr.seed, -1, tr.acc))
	}
	put(t, filepath.Join(sw, "results.json"), `{"metric":"val_acc","best":{"rho":0.1,"lr":0.001,"l2":0},"test":{"best":{"rho":0.1,"test_acc_mean":0.9}}}`)
	tinyPNG(t, filepath.Join(sw, "rho.png"))
	return dir
}

func serve(t *testing.T, o *Options, dirs ...string) *httptest.Server {
	t.Helper()
	s, err := New(dirs, o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Close() })
	return hs
}

// get fetches a path (sent as written: percent-encoding kept) and returns status and body.
func get(t *testing.T, hs *httptest.Server, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = "//" + req.URL.Host + path // no cleaning, no re-encoding
	res, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func getJSON(t *testing.T, hs *httptest.Server, path string, v any) {
	t.Helper()
	code, body := get(t, hs, path)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func runByID(runs []Run, id string) *Run {
	for i := range runs {
		if runs[i].ID == id {
			return &runs[i]
		}
	}
	return nil
}

func TestFileNames(t *testing.T) {
	if sweepSpecFile != sweep.SpecFile || trialsDir != sweep.TrialsDir {
		t.Fatalf("ui looks for %s and %s/, package sweep writes %s and %s/", sweepSpecFile, trialsDir, sweep.SpecFile, sweep.TrialsDir)
	}
}

func TestAPI(t *testing.T) {
	hs := serve(t, nil, fixture(t))
	var runs []Run
	getJSON(t, hs, "/api/runs", &runs)
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	want := []string{"runs/a", "runs/deep/ckpt", "runs/sw/trials/t0", "runs/sw/trials/t1", "runs/sw/trials/t2", "runs/sw/trials/t3"}
	if !slices.Equal(ids, want) {
		t.Fatalf("runs %q, want %q", ids, want)
	}
	a := runByID(runs, "runs/a")
	if a.Kind != "train" || a.Status != "done" || a.Live || a.Data != "digits" || a.Model != "mlp 32,16" || a.Optimizer != "sgd" ||
		a.Variant != "asam" || *a.Rho != 0.05 || *a.LR != 0.1 || *a.Seed != 7 || a.Steps != 30 || a.MetricRows != 3 || !a.LambdaMax ||
		*a.Final["test_acc"] != 0.61 || a.WallSeconds != 1.6 || len(a.Problems) != 0 {
		t.Errorf("runs/a: %+v", a)
	}
	if slices.Contains(a.Files, "model.safetensors") || !slices.Contains(a.Files, "metrics.jsonl") {
		t.Errorf("runs/a serves %q: want metrics.jsonl, not the weights", a.Files)
	}
	ck := runByID(runs, "runs/deep/ckpt")
	if ck.Kind != "checkpoint" || !ck.Sharpness || ck.Status != "done" || ck.MetricRows != 0 {
		t.Errorf("checkpoint: %+v", ck)
	}
	t0 := runByID(runs, "runs/sw/trials/t0")
	if t0.Kind != "trial" || t0.Sweep != "runs/sw" || t0.TrialKind != "cv" || *t0.Fold != -1 || t0.Variant != "base" || t0.Data != "wine" || t0.MetricRows != 1 {
		t.Errorf("trial: %+v", t0)
	}

	var m struct {
		ID   string           `json:"id"`
		Rows []map[string]any `json:"rows"`
	}
	getJSON(t, hs, "/api/runs/runs%2Fa/metrics", &m)
	if m.ID != "runs/a" || len(m.Rows) != 3 || m.Rows[1]["lambda_max"] != 3.5 || m.Rows[2]["step"] != 30.0 {
		t.Errorf("metrics: %+v", m)
	}
	getJSON(t, hs, "/api/runs/"+url.PathEscape("runs/sw/trials/t2")+"/metrics", &m)
	if len(m.Rows) != 1 || m.Rows[0]["val_acc"] != 0.9 {
		t.Errorf("trial metrics: %+v", m)
	}
	var full struct {
		ID     string         `json:"id"`
		Config map[string]any `json:"config"`
	}
	getJSON(t, hs, "/api/runs/runs%2Fa", &full)
	if full.ID != "runs/a" || full.Config["data"] != "digits" {
		t.Errorf("run: %+v", full)
	}

	var sh struct {
		Sharpness map[string]any `json:"sharpness"`
		Density   *Density       `json:"density"`
		Figures   []string       `json:"figures"`
		Problems  []string       `json:"problems"`
	}
	getJSON(t, hs, "/api/runs/runs%2Fdeep%2Fckpt/sharpness", &sh)
	if sh.Sharpness["lambda_max"] != 3.25 || sh.Density == nil || !slices.Equal(sh.Density.Eigenvalue, []float64{-0.5, 0, 3.25}) ||
		!slices.Equal(sh.Density.Density, []float64{0.01, 2, 0.1}) || !slices.Equal(sh.Figures, []string{"density.png", "landscape_1d.png"}) || len(sh.Problems) != 0 {
		t.Errorf("sharpness: %+v", sh)
	}
	res, err := hs.Client().Get(hs.URL + "/api/runs/runs%2Fdeep%2Fckpt/files/density.png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(res.Body)
	res.Body.Close()
	if err != nil || res.Header.Get("Content-Type") != "image/png" || img.Bounds().Dx() != 4 {
		t.Errorf("density.png: %v, %s", err, res.Header.Get("Content-Type"))
	}

	var sws []Sweep
	getJSON(t, hs, "/api/sweeps", &sws)
	if len(sws) != 1 || sws[0].ID != "runs/sw" || sws[0].Status != "done" || sws[0].Expected != 4 || sws[0].Finished != 4 ||
		sws[0].Data != "wine" || sws[0].Variant != "sam" || !slices.Equal(sws[0].Rho, []float64{0, 0.1}) {
		t.Errorf("sweeps: %+v", sws)
	}
	var sd struct {
		Metric  string         `json:"metric"`
		Points  []Point        `json:"points"`
		Trials  []Run          `json:"trials"`
		Results map[string]any `json:"results"`
	}
	getJSON(t, hs, "/api/sweeps/runs%2Fsw", &sd)
	if sd.Metric != "val_acc" || len(sd.Points) != 2 || len(sd.Trials) != 4 || sd.Results["metric"] != "val_acc" {
		t.Fatalf("sweep: %+v", sd)
	}
	// mean and sample standard deviation of (0.90, 0.86) at ρ = 0.1
	p := sd.Points[1]
	if p.Rho != 0.1 || p.N != 2 || math.Abs(*p.ValAccMean-0.88) > 1e-12 || math.Abs(*p.ValAccStd-0.04/math.Sqrt2) > 1e-12 ||
		math.Abs(*p.ValLossMean-0.12) > 1e-12 {
		t.Errorf("point ρ=0.1: %+v", p)
	}
	if code, _ := get(t, hs, "/api/sweeps/runs%2Fsw/files/rho.png"); code != 200 {
		t.Errorf("rho.png: %d", code)
	}

	var st map[string]any
	getJSON(t, hs, "/api/status", &st)
	if st["runs"] != 6.0 || st["sweeps"] != 1.0 {
		t.Errorf("status: %v", st)
	}
	for _, p := range []string{"/api/runs/nope/metrics", "/api/nope", "/api/sweeps/runs%2Fa", "/api/runs/runs%2Fa/files/model.safetensors"} {
		code, body := get(t, hs, p)
		var e map[string]string
		if code != 404 || json.Unmarshal([]byte(body), &e) != nil || e["error"] == "" {
			t.Errorf("GET %s: %d %s, want 404 with a JSON error", p, code, body)
		}
	}
	for _, p := range []string{"/", "/assets/app.js", "/assets/vendor/uplot/uPlot.iife.min.js", "/assets/vendor/uplot/LICENSE"} {
		if code, body := get(t, hs, p); code != 200 || len(body) < 100 {
			t.Errorf("GET %s: %d, %d bytes", p, code, len(body))
		}
	}
}

// TestPathEscape: nothing outside the served directory is readable, whatever the request:
// "..", absolute paths, percent-encoded and double-encoded variants, and symbolic links that
// lead out of the tree (absolute or relative, to files or to folders).
func TestPathEscape(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "runs")
	put(t, filepath.Join(dir, "a", "metrics.jsonl"), metrics3)
	put(t, filepath.Join(dir, "a", "notes.md"), "inside")
	const secret = "SECRET-7f3a"
	outside := filepath.Join(base, "outside")
	put(t, filepath.Join(outside, "secret.json"), `{"secret":"`+secret+`"}`)
	put(t, filepath.Join(outside, "run", "metrics.jsonl"), `{"epoch":1,"step":1,"train_loss":1,"note":"`+secret+`"}`+"\n")
	put(t, filepath.Join(outside, "run", "summary.json"), `{"config":{"data":"`+secret+`"}}`)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "abs"), 0o755)
	os.MkdirAll(filepath.Join(dir, "rel"), 0o755)
	must(os.Symlink(filepath.Join(outside, "run", "metrics.jsonl"), filepath.Join(dir, "abs", "metrics.jsonl")))
	must(os.Symlink("../../outside/run/summary.json", filepath.Join(dir, "rel", "summary.json")))
	must(os.Symlink("../../outside/secret.json", filepath.Join(dir, "a", "secret.json")))
	must(os.Symlink(filepath.Join(outside, "run"), filepath.Join(dir, "linkdir")))
	must(os.Symlink("notes.md", filepath.Join(dir, "a", "link.md"))) // a link inside the tree is fine

	hs := serve(t, nil, dir)
	var runs []Run
	getJSON(t, hs, "/api/runs", &runs)
	if r := runByID(runs, "runs/linkdir"); r != nil {
		t.Errorf("a linked folder outside the tree was followed: %+v", r)
	}
	a := runByID(runs, "runs/a")
	if a == nil || slices.Contains(a.Files, "secret.json") || !slices.Contains(a.Files, "link.md") {
		t.Fatalf("runs/a: %+v", a)
	}
	if !slices.ContainsFunc(a.Problems, func(p string) bool { return strings.Contains(p, "secret.json") && strings.Contains(p, "out of") }) {
		t.Errorf("runs/a does not report the link out of the tree: %q", a.Problems)
	}
	if code, body := get(t, hs, "/api/runs/runs%2Fa/files/link.md"); code != 200 || body != "inside" {
		t.Errorf("link inside the tree: %d %q", code, body)
	}

	abs := url.PathEscape(filepath.Join(outside, "secret.json"))
	paths := []string{
		"/api/runs/..%2Foutside%2Frun/metrics",
		"/api/runs/runs%2F..%2F..%2Foutside%2Frun/metrics",
		"/api/runs/" + abs,
		"/api/runs/" + url.PathEscape(filepath.Join(outside, "run")) + "/metrics",
		"/api/runs/runs%2Fa/files/..%2F..%2Foutside%2Fsecret.json",
		"/api/runs/runs%2Fa/files/%2e%2e%2f%2e%2e%2foutside%2fsecret.json",
		"/api/runs/runs%2Fa/files/%252e%252e%252fsecret.json",
		"/api/runs/runs%2Fa/files/" + abs,
		"/api/runs/runs%2Fa/files/secret.json",
		"/api/runs/runs%2Fabs/files/metrics.jsonl",
		"/api/runs/runs%2Frel/files/summary.json",
		"/api/runs/runs%2Flinkdir/metrics",
		"/api/runs/runs/a/../../../outside/secret.json",
		"/api/runs/runs%2Fa/files/../../../outside/secret.json",
		"/assets/../../outside/secret.json",
		"/assets/..%2F..%2Foutside%2Fsecret.json",
		"/assets/%2e%2e/server.go",
		"/..%2Foutside%2Fsecret.json",
		"/api/sweeps/..%2Foutside/files/secret.json",
	}
	for _, p := range paths {
		code, body := get(t, hs, p)
		if code == 200 || strings.Contains(body, secret) {
			t.Errorf("GET %s: %d %q", p, code, body)
		}
	}
	// Nothing any endpoint answers for any listed run holds the secret.
	for _, r := range runs {
		id := url.PathEscape(r.ID)
		for _, p := range []string{"/api/runs/" + id, "/api/runs/" + id + "/metrics", "/api/runs/" + id + "/sharpness"} {
			if _, body := get(t, hs, p); strings.Contains(body, secret) {
				t.Errorf("GET %s leaks: %s", p, body)
			}
		}
		for _, f := range r.Files {
			if _, body := get(t, hs, "/api/runs/"+id+"/files/"+url.PathEscape(f)); strings.Contains(body, secret) {
				t.Errorf("file %s of %s leaks", f, r.ID)
			}
		}
	}
	if _, body := get(t, hs, "/api/runs"); strings.Contains(body, secret) {
		t.Errorf("/api/runs leaks: %s", body)
	}
}

// TestCorrupt: half-written and corrupt files show as problems; the rest of the run is shown
// and the server keeps answering.
func TestCorrupt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	lines := strings.SplitAfter(metrics3, "\n")
	put(t, filepath.Join(dir, "half", "metrics.jsonl"), lines[0]+lines[1]+`{"epoch":3,"step":30,"train_lo`)
	put(t, filepath.Join(dir, "badline", "metrics.jsonl"), lines[0]+"garbage\n[1,2]\n"+lines[1])
	put(t, filepath.Join(dir, "badsum", "metrics.jsonl"), metrics3)
	put(t, filepath.Join(dir, "badsum", "summary.json"), `{"config": {"data": "dig`)
	put(t, filepath.Join(dir, "emptysum", "summary.json"), "")
	put(t, filepath.Join(dir, "nosum", "metrics.jsonl"), metrics3)
	put(t, filepath.Join(dir, "ck", "sharpness.json"), "[1, 2]")
	put(t, filepath.Join(dir, "ck", "density.csv"), "eigenvalue,density\n1,x\n")
	put(t, filepath.Join(dir, "sw", "sweep.json"), `{"rho":[0,0.1],"lr":[0.001],"l2":[0],"seeds":1}`)
	put(t, filepath.Join(dir, "sw", "trials", "t0.json"), trial("t0", 0, 1, -1, 0.8))
	put(t, filepath.Join(dir, "sw", "trials", "t1.json"), `{"id":"t1","kind":"cv"`)
	put(t, filepath.Join(dir, "sw", "results.json"), "not json")
	put(t, filepath.Join(dir, "badsweep", "sweep.json"), "{")
	os.Chtimes(filepath.Join(dir, "nosum", "metrics.jsonl"), time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	hs := serve(t, nil, dir)

	var runs []Run
	getJSON(t, hs, "/api/runs", &runs)
	check := func(id, status string, rows int, problem string) {
		t.Helper()
		r := runByID(runs, id)
		if r == nil {
			t.Errorf("%s missing", id)
			return
		}
		has := problem == "" && len(r.Problems) == 0 || problem != "" && slices.ContainsFunc(r.Problems, func(p string) bool { return strings.Contains(p, problem) })
		if r.Status != status || r.MetricRows != rows || !has {
			t.Errorf("%s: status %s, %d rows, problems %q; want %s, %d, %q", id, r.Status, r.MetricRows, r.Problems, status, rows, problem)
		}
	}
	check("runs/half", "running", 2, "metrics.jsonl line 3: half-written")
	check("runs/badline", "running", 2, "metrics.jsonl line 3: corrupt")
	check("runs/badsum", "corrupt", 3, "summary.json: corrupt")
	check("runs/emptysum", "corrupt", 0, "summary.json: corrupt: empty")
	check("runs/nosum", "incomplete", 3, "")
	check("runs/ck", "corrupt", 0, "sharpness.json: corrupt: not a JSON object")
	check("runs/sw/trials/t0", "done", 1, "")
	check("runs/sw/trials/t1", "corrupt", 0, "trials/t1.json: corrupt")
	if r := runByID(runs, "runs/badline"); r != nil && !slices.ContainsFunc(r.Problems, func(p string) bool { return strings.Contains(p, "line 2") }) {
		t.Errorf("badline: line 2 not reported: %q", r.Problems)
	}

	var sh struct {
		Problems []string `json:"problems"`
	}
	getJSON(t, hs, "/api/runs/runs%2Fck/sharpness", &sh)
	if len(sh.Problems) != 2 || !strings.Contains(sh.Problems[1], "density.csv: corrupt: line 2") {
		t.Errorf("sharpness problems: %q", sh.Problems)
	}
	var sws []Sweep
	getJSON(t, hs, "/api/sweeps", &sws)
	if len(sws) != 2 || sws[0].Status != "corrupt" || sws[1].Finished != 1 || sws[1].Status == "done" ||
		!slices.ContainsFunc(sws[1].Problems, func(p string) bool { return strings.HasPrefix(p, "results.json: corrupt") }) {
		t.Errorf("sweeps: %+v", sws)
	}
	var sd struct {
		Points  []Point `json:"points"`
		Results any     `json:"results"`
	}
	getJSON(t, hs, "/api/sweeps/runs%2Fsw", &sd)
	if len(sd.Points) != 1 || sd.Results != nil {
		t.Errorf("sweep with a corrupt trial: %+v", sd)
	}
	if code, _ := get(t, hs, "/api/runs/runs%2Fhalf/metrics"); code != 200 {
		t.Errorf("server stopped answering: %d", code)
	}
}

// TestLive: /api/events reports a run whose metrics.jsonl grew, and the run turns from
// running to done when its summary.json appears.
func TestLive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	lines := strings.SplitAfter(metrics3, "\n")
	mpath := filepath.Join(dir, "live", "metrics.jsonl")
	put(t, mpath, lines[0])
	put(t, filepath.Join(dir, "other", "metrics.jsonl"), metrics3)
	hs := serve(t, &Options{Poll: 20 * time.Millisecond}, dir)

	res, err := hs.Client().Get(hs.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: Content-Type %q", ct)
	}
	type event struct{ name, data string }
	events := make(chan event, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			case line == "" && ev.name != "":
				events <- ev
				ev = event{}
			}
		}
		close(events)
	}()
	next := func(what string) event {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("%s: stream closed", what)
			}
			return ev
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no event within 5 s", what)
		}
		return event{}
	}
	if ev := next("hello"); ev.name != "hello" {
		t.Fatalf("first event %+v, want hello", ev)
	}
	status := func() (string, bool, int) {
		var m struct {
			Status string           `json:"status"`
			Live   bool             `json:"live"`
			Rows   []map[string]any `json:"rows"`
		}
		getJSON(t, hs, "/api/runs/runs%2Flive/metrics", &m)
		return m.Status, m.Live, len(m.Rows)
	}
	if s, live, n := status(); s != "running" || !live || n != 1 {
		t.Fatalf("before: %s live=%v %d rows", s, live, n)
	}
	putAtomic(t, mpath, lines[0]+lines[1])
	ev := next("change after a new epoch")
	var ch struct{ Runs, Sweeps []string }
	if json.Unmarshal([]byte(ev.data), &ch); ev.name != "change" || !slices.Equal(ch.Runs, []string{"runs/live"}) {
		t.Fatalf("event %+v, want a change of runs/live alone", ev)
	}
	if s, live, n := status(); s != "running" || !live || n != 2 {
		t.Errorf("after a new epoch: %s live=%v %d rows", s, live, n)
	}
	put(t, filepath.Join(dir, "live", "summary.json"), summaryA)
	if ev := next("change after the summary"); ev.name != "change" || !strings.Contains(ev.data, "runs/live") {
		t.Fatalf("event %+v", ev)
	}
	if s, live, _ := status(); s != "done" || live {
		t.Errorf("after the summary: %s live=%v", s, live)
	}
	os.MkdirAll(filepath.Join(dir, "new"), 0o755)
	put(t, filepath.Join(dir, "new", "metrics.jsonl"), lines[0])
	if ev := next("a new run"); !strings.Contains(ev.data, "runs/new") {
		t.Fatalf("event %+v, want runs/new", ev)
	}
}

func TestLocalOnly(t *testing.T) {
	dir := fixture(t)
	hs := serve(t, &Options{LocalOnly: true}, dir)
	for host, want := range map[string]int{"evil.example:6006": 403, "localhost:6006": 200, "127.0.0.1:6006": 200, "[::1]:6006": 200, "127.0.0.1.evil.example": 403} {
		req, _ := http.NewRequest("GET", hs.URL+"/api/runs", nil)
		req.Host = host
		res, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, res.StatusCode, want)
		}
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	put(t, file, "x")
	for _, tc := range []struct {
		dirs []string
		want string
	}{
		{nil, "ui: no directory to serve"},
		{[]string{filepath.Join(dir, "nope")}, "nope: no such directory"},
		{[]string{file}, "f: not a directory"},
	} {
		if _, err := New(tc.dirs, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q): %v, want %q", tc.dirs, err, tc.want)
		}
	}
	// Two directories with the same base name get distinct prefixes.
	a, b := filepath.Join(dir, "x", "runs"), filepath.Join(dir, "y", "runs")
	put(t, filepath.Join(a, "r", "metrics.jsonl"), metrics3)
	put(t, filepath.Join(b, "r", "metrics.jsonl"), metrics3)
	hs := serve(t, nil, a, b)
	var runs []Run
	getJSON(t, hs, "/api/runs", &runs)
	if len(runs) != 2 || runs[0].ID != "runs/r" || runs[1].ID != "runs~2/r" {
		t.Errorf("runs of two folders named runs: %+v", runs)
	}
}
