// Package ui serves `sam ui`: a local web page that shows the run folders written by sam train,
// sam sweep, sam sharpness and sam landscape, and the JSON API behind it.
//
// The page (HTML, JavaScript, CSS) is embedded in the binary with go:embed, with the chart
// library uPlot 1.6.32 vendored from npm (assets/vendor/uplot, MIT licence); it loads nothing
// from the network. Its pages: Runs (every run with its config, final metrics and status;
// filter and sort), Curves (overlay the loss, accuracy, learning rate and λ_max of selected runs
// against step, epoch or wall time; smoothing, log scale; live runs update), Sweeps (validation
// metric against ρ per seed and fold with mean ± std, the chosen ρ, the test table) and
// Sharpness (sharpness.json, the eigenvalue density as a chart, the landscape figures).
//
// # What is found
//
// Every folder below the served directories (down to 8 levels; names starting with "." are
// skipped) that holds metrics.jsonl or summary.json is a training run; one with sweep.json is
// a sweep, whose trials/<id>.json records are runs too ("trial"); one with only sharpness.json,
// density.csv or landscape figures is a "checkpoint". A run's id is its folder's path below
// the directory, prefixed with the directory's base name ("runs/mnist"); a trial's is
// SWEEP/trials/ID. A run without summary.json is "running" (live) while its metrics.jsonl
// changed within Options.LiveWindow, else "incomplete". Files that do not parse (a half-written
// metrics line, a corrupt summary.json) are reported in the run's problems and the rest is shown.
//
// # Safety
//
// The server reads files only through os.Root handles of the served directories, so no path
// (with "..", absolute, or through a symbolic link that leads out) can reach anything outside
// them; symbolic links to folders are not followed while looking for runs. Ids and file names in
// requests are looked up in the scanned index, never joined into paths. Only .png, .csv, .json,
// .jsonl and .md files of a run folder are served. With Options.LocalOnly requests must name a
// loopback host (a guard against DNS rebinding).
//
// # API
//
// All responses are JSON (errors: {"error": "..."} with status 404 or 403). Ids go in one path
// segment, percent-encoded (encodeURIComponent: "runs%2Fmnist").
//
//	GET /api/status                     {dirs, runs, sweeps, live, problems, poll_ms, live_window_s, scanned}
//	GET /api/runs                       [Run]: id, kind, sweep, status, live, data, model, optimizer,
//	                                    variant, rho, lr, seed, fold, trial_kind, l2, final {train_loss,
//	                                    train_acc, val_loss, val_acc, test_loss, test_acc}, epochs, steps,
//	                                    wall_seconds, stopped, metric_rows, lambda_max, sharpness,
//	                                    files, problems, modified, version
//	GET /api/runs/{id}                  Run with "config": the full training config
//	GET /api/runs/{id}/metrics          {id, status, live, version, rows: the lines of metrics.jsonl
//	                                    (a trial's epochs), problems}
//	GET /api/runs/{id}/sharpness        {id, sharpness: sharpness.json or null, density:
//	                                    {eigenvalue: [], density: []} (density.csv) or null,
//	                                    figures: [png names], problems}
//	GET /api/runs/{id}/files/{name}     one of the run's files (listed in Run.files)
//	GET /api/sweeps                     [Sweep]: id, status, live, data, model, optimizer, variant,
//	                                    rho, lr, l2 (the grid), seeds, folds, expected_trials,
//	                                    finished_trials, files, problems, modified, version
//	GET /api/sweeps/{id}                {sweep, metric: "val_acc" or "val_loss", points: [{rho, lr,
//	                                    l2, n, val_acc_mean, val_acc_std, val_loss_mean,
//	                                    val_loss_std}] over the finished validation trials,
//	                                    trials: [Run], results: results.json or null}
//	GET /api/sweeps/{id}/files/{name}   rho.png, report.md, results.csv, ...
//	GET /api/events                     server-sent events: "hello" {poll_ms}, then "change"
//	                                    {runs: [id], sweeps: [id]} whenever files change
//
// For example, with `sam ui runs` running:
//
//	curl -s localhost:6006/api/runs | jq -r '.[] | [.id, .status, .final.test_acc] | @tsv'
//	curl -s localhost:6006/api/runs/runs%2Fmnist/metrics | jq '.rows[-1]'
package ui
