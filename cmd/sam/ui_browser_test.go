package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/samgo/sam/ui"
)

// trainUIRuns fills dir with real outputs of the commands, small enough to take about two
// seconds: two training runs (SGD, and SAM with λ_max tracked), sharpness and a landscape of
// the SAM run, a two-ρ sweep with two seeds and two folds, and a "live" run: the first two
// epochs of the SGD run's metrics.jsonl without a summary, as a run still training leaves it.
func trainUIRuns(t *testing.T, dir string) {
	t.Helper()
	common := []string{"--data", "digits", "--hidden", "16", "--epochs", "4", "--opt", "sgd", "--lr", "0.1", "--threads", "1", "--quiet"}
	for _, args := range [][]string{
		append([]string{"train", "--rho", "0", "--out", filepath.Join(dir, "sgd")}, common...),
		append([]string{"train", "--rho", "0.05", "--track-sharpness", "1", "--out", filepath.Join(dir, "sam")}, common...),
		{"sharpness", "--model", filepath.Join(dir, "sam", "model.safetensors"), "--density-probes", "2", "--quiet"},
		{"landscape", "--model", filepath.Join(dir, "sgd", "model.safetensors"), "--model2", filepath.Join(dir, "sam", "model.safetensors"),
			"--points", "11", "--out", filepath.Join(dir, "cmp"), "--quiet"},
		{"sweep", "--data", "digits", "--hidden", "8", "--epochs", "2", "--rho", "0,0.05", "--seeds", "2", "--folds", "2",
			"--workers", "1", "--threads", "1", "--out", filepath.Join(dir, "sweep"), "--quiet"},
	} {
		if code, _, stderr := runSam(t, args...); code != 0 {
			t.Fatalf("sam %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "sgd", "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	os.Mkdir(filepath.Join(dir, "live"), 0o755)
	write(t, filepath.Join(dir, "live"), "metrics.jsonl", lines[0]+lines[1])
}

// chromium finds the browser: $SAM_CHROMIUM, else chromium or chromium-browser on the PATH.
func chromium() string {
	if p := os.Getenv("SAM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestUIBrowser opens every page of `sam ui` in headless Chromium against real runs, checks
// that the charts drew with the right series, that selecting a second run overlays it and that
// a live run's chart grows when its metrics.jsonl does, and saves a screenshot of each page (in
// $SAM_UI_SCREENSHOTS when set, else in a temporary folder).
func TestUIBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		t.Skip("chromium not found (apt-get install chromium, or set SAM_CHROMIUM): browser test skipped")
	}
	if testing.Short() {
		t.Skip("-short: browser test skipped")
	}
	runs := filepath.Join(t.TempDir(), "runs")
	trainUIRuns(t, runs)
	srv, err := ui.New([]string{runs}, &ui.Options{Poll: 150 * time.Millisecond, LocalOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler()) // 127.0.0.1, an ephemeral port
	defer hs.Close()
	shots := os.Getenv("SAM_UI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"), chromedp.Flag("hide-scrollbars", true))
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// Every exception and error the page logs (a script error, a refused resource, a CSP
	// violation) fails the test at the end.
	var (
		mu   sync.Mutex
		errs []string
	)
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				mu.Lock()
				errs = append(errs, m.String())
				mu.Unlock()
			}
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range errs {
			t.Errorf("page console: %s", e)
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/#/runs")); err != nil {
		t.Fatalf("chromium %s: %v", exe, err)
	}
	limit := func(d time.Duration) context.Context {
		c, cancel := context.WithTimeout(ctx, d)
		t.Cleanup(cancel)
		return c
	}
	eval := func(expr string, v any) {
		t.Helper()
		var err error
		switch p := v.(type) {
		case *int:
			*p, err = chromedp.Run(limit(5*time.Second), chromedp.Evaluate[int](expr))
		case *string:
			*p, err = chromedp.Run(limit(5*time.Second), chromedp.Evaluate[string](expr))
		case *[]string:
			*p, err = chromedp.Run(limit(5*time.Second), chromedp.Evaluate[[]string](expr))
		case *bool:
			*p, err = chromedp.Run(limit(5*time.Second), chromedp.Evaluate[bool](expr))
		default:
			t.Fatalf("eval: type %T", v)
		}
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
	}
	// wait waits until a JavaScript predicate holds.
	wait := func(what, pred string) {
		t.Helper()
		// A predicate that throws (a chart torn down by a redraw) counts as false, not as the end of the poll.
		safe := fmt.Sprintf(`(() => { try { return !!(%s); } catch (e) { return false; } })()`, pred)
		if _, err := chromedp.Run(limit(10*time.Second), chromedp.Poll[bool](safe, chromedp.WithPollingInterval(30*time.Millisecond))); err != nil {
			var body string
			eval(`"events " + samUI.events + ", renders " + samUI.renders + ", status " + document.getElementById("status").textContent + ": " + document.getElementById("main").innerText.slice(0, 300)`, &body)
			t.Fatalf("waiting for %s (%s): %v; page: %q", what, pred, err, body)
		}
	}
	page := func(hash, name string) {
		t.Helper()
		eval(fmt.Sprintf(`(samUI.ready = false, location.hash = %q, samUI.renders)`, hash), new(int))
		wait(name, fmt.Sprintf(`samUI.ready && samUI.page === %q`, name))
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(limit(10*time.Second), chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if sz := img.Bounds().Size(); sz.X < 1000 || sz.Y < 600 {
			t.Fatalf("screenshot %s: %v, want at least 1000×600", name, sz)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	series := func() []string {
		var s []string
		eval(`samUI.charts.flatMap(c => c.u.series.slice(1).map(s => c.title + ": " + s.label))`, &s)
		return s
	}
	wantSeries := func(where string, want ...string) {
		t.Helper()
		got := series()
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: no series %q among %q", where, w, got)
			}
		}
	}
	canvases := func() int {
		var n int
		eval(`[...document.querySelectorAll("#charts canvas")].filter(c => c.width > 100 && c.height > 100).length`, &n)
		return n
	}
	enc := url.PathEscape

	// Runs: every run, the live one marked.
	wait("runs table", `samUI.ready && document.querySelectorAll("#runs tbody tr").length > 0`)
	var ids []string
	eval(`[...document.querySelectorAll("#runs tbody tr")].map(tr => tr.dataset.id)`, &ids)
	for _, id := range []string{"runs/sgd", "runs/sam", "runs/live", "runs/cmp"} {
		if !slices.Contains(ids, id) {
			t.Errorf("runs table: no %s among %q", id, ids)
		}
	}
	if n := len(ids); n != 4+8+4 { // 4 folders, 8 validation trials, 2 × 2 final trials
		t.Errorf("runs table: %d rows, want 16: %q", n, ids)
	}
	var liveStatus string
	eval(`document.querySelector('#runs tr[data-id="runs/live"] .badge').textContent`, &liveStatus)
	if liveStatus != "running" {
		t.Errorf("runs/live shows %q, want running", liveStatus)
	}
	filter := func(f string) []string {
		t.Helper()
		eval(fmt.Sprintf(`(document.getElementById("filter").focus(), document.getElementById("filter").value = %q, document.getElementById("filter").dispatchEvent(new Event("input")), 0)`, f), new(int))
		wait("filter "+f, `samUI.ready && !document.querySelector("#runs tbody tr:not([data-id])")`)
		var focused string
		eval(`document.activeElement.id`, &focused)
		if focused != "filter" {
			t.Errorf("after filtering the focus is on %q, not the filter box", focused)
		}
		var got []string
		eval(`[...document.querySelectorAll("#runs tbody tr")].map(tr => tr.dataset.id)`, &got)
		return got
	}
	if got := filter("rho:0.05 kind:train"); !slices.Equal(got, []string{"runs/sam"}) {
		t.Errorf("filter rho:0.05 kind:train: %q, want runs/sam", got)
	}
	if got := filter("status:running"); !slices.Equal(got, []string{"runs/live"}) {
		t.Errorf("filter status:running: %q, want runs/live", got)
	}
	filter("")
	eval(`document.querySelector('#runs tr[data-id="runs/sgd"] input').click(), 0`, new(int))
	wait("selection", `document.getElementById("overlay").textContent.includes("1 selected")`)
	shot("runs")

	// Curves: the SGD run alone, then the SAM run selected beside it.
	page("#/curves", "curves")
	wantSeries("curves (one run)", "loss: runs/sgd · train loss", "loss: runs/sgd · val loss", "accuracy: runs/sgd · val acc", "learning rate: runs/sgd · lr")
	if got := series(); slices.Contains(got, "loss: runs/sam · train loss") {
		t.Errorf("curves: runs/sam drawn before it was selected: %q", got)
	}
	if n := canvases(); n != 3 {
		t.Errorf("curves (one run): %d charts drawn, want 3 (loss, accuracy, lr; no λ_max)", n)
	}
	before := samUIRenders(t, eval)
	eval(`document.querySelector('#runlist input[data-id="runs/sam"]').click(), 0`, new(int))
	wait("the overlay", fmt.Sprintf(`samUI.ready && samUI.renders > %d`, before))
	wantSeries("curves (two runs)", "loss: runs/sgd · train loss", "loss: runs/sam · train loss", "loss: runs/sam · val loss",
		"accuracy: runs/sam · val acc", "λ_max (Hessian top eigenvalue): runs/sam · λ_max")
	if n := canvases(); n != 4 {
		t.Errorf("curves (two runs): %d charts drawn, want 4 (with λ_max)", n)
	}
	var rows int
	eval(`samUI.charts[0].u.data[0].length`, &rows)
	if rows != 4 {
		t.Errorf("loss chart: %d x values, want the 4 epochs' steps shared by both runs", rows)
	}
	eval(`(document.getElementById("xaxis").value = "wall", document.getElementById("xaxis").dispatchEvent(new Event("change")), 0)`, new(int))
	wait("wall-time axis", `samUI.ready && samUI.charts.length > 0 && samUI.charts[0].u.axes[0].label === "wall time (s)"`)
	eval(`(document.getElementById("xaxis").value = "step", document.getElementById("xaxis").dispatchEvent(new Event("change")), 0)`, new(int))
	wait("step axis", `samUI.ready && samUI.charts.length > 0 && samUI.charts[0].u.axes[0].label === "step"`)
	shot("curves")

	// Live: the running run's chart grows when a line is appended to its metrics.jsonl.
	eval(`document.querySelector('#runlist input[data-id="runs/live"]').click(), 0`, new(int))
	wait("live run selected", `samUI.ready && samUI.charts.length > 0 && samUI.charts[0].u.series.some(s => s.label === "runs/live · train loss")`)
	var liveText string
	eval(`document.getElementById("live").textContent`, &liveText)
	if !strings.Contains(liveText, "runs/live") {
		t.Errorf("curves page does not say runs/live is live: %q", liveText)
	}
	liveLen := `(() => { const u = samUI.charts[0].u, i = u.series.findIndex(s => s.label === "runs/live · train loss"); return u.data[i].filter(v => v != null).length; })()`
	var n0 int
	eval(liveLen, &n0)
	b, _ := os.ReadFile(filepath.Join(runs, "sgd", "metrics.jsonl"))
	lines := strings.SplitAfter(string(b), "\n")
	write(t, filepath.Join(runs, "live"), "metrics.jsonl", lines[0]+lines[1]+lines[2])
	wait("the live update", liveLen+` > `+fmt.Sprint(n0))

	// Sweep: validation accuracy against ρ, per seed and fold, the chosen ρ, the test table.
	page("#/sweeps/"+enc("runs/sweep"), "sweeps")
	wantSeries("sweep", "validation accuracy (%) vs ρ: mean", "validation accuracy (%) vs ρ: mean + std",
		"validation accuracy (%) vs ρ: seed 1 fold 0", "validation accuracy (%) vs ρ: seed 2 fold 1", "validation accuracy (%) vs ρ: chosen ρ")
	if n := canvases(); n != 1 {
		t.Errorf("sweep: %d charts, want 1", n)
	}
	var testRows, gridRows int
	eval(`document.querySelectorAll("#test tbody tr").length`, &testRows)
	eval(`document.querySelectorAll("#grid tbody tr").length`, &gridRows)
	if testRows != 2 || gridRows != 2 {
		t.Errorf("sweep tables: %d test rows, %d grid rows, want 2 and 2", testRows, gridRows)
	}
	var chosen string
	eval(`document.getElementById("chosen").textContent`, &chosen)
	if !strings.HasPrefix(chosen, "chosen: ρ = ") {
		t.Errorf("sweep: %q does not name the chosen ρ", chosen)
	}
	wait("rho.png", `[...document.querySelectorAll(".figures img")].every(i => i.complete && i.naturalWidth > 0)`)
	shot("sweep")

	// Sharpness: the numbers, the density chart, the figures.
	page("#/sharpness/"+enc("runs/sam"), "sharpness")
	wantSeries("sharpness", "Hessian eigenvalue density: runs/sam · density")
	var kv string
	eval(`document.getElementById("sharp-kv").innerText`, &kv)
	for _, k := range []string{"lambda_max", "trace", "sam_sharpness", "top_eigenvalues"} {
		if !strings.Contains(kv, k) {
			t.Errorf("sharpness numbers lack %s: %q", k, kv)
		}
	}
	wait("figures", `document.querySelectorAll("#figures img").length >= 1 && [...document.querySelectorAll("#figures img")].every(i => i.complete && i.naturalWidth > 0)`)
	shot("sharpness")
	page("#/sharpness/"+enc("runs/cmp"), "sharpness")
	var figs []string
	eval(`[...document.querySelectorAll("#figures img")].map(i => i.alt)`, &figs)
	if !slices.Contains(figs, "path.png") || !slices.Contains(figs, "landscape_1d.png") {
		t.Errorf("runs/cmp figures: %q, want landscape_1d.png and path.png", figs)
	}
	t.Logf("screenshots in %s", shots)
}

func samUIRenders(t *testing.T, eval func(string, any)) int {
	t.Helper()
	var n int
	eval(`samUI.renders`, &n)
	return n
}
