// Package sweep tunes SAM's ρ (and optionally the learning rate and L2) by grid search with
// k-fold cross-validation or a held-out validation split, runs the trials in parallel, resumes
// after a kill, shards the grid over machines (Slurm job arrays, Kubernetes Indexed Jobs) and
// writes a report: the best configuration is retrained on train+validation and evaluated once
// on the test split, next to the ρ = 0 baseline (the base optimizer alone).
//
// Layout of a sweep folder D:
//
//	D/sweep.json        the grid (Spec); a rerun with another grid is refused
//	D/trials/<id>.json  one Record per finished trial, written atomically
//	D/results.csv       one row per trial
//	D/results.json      {"best": ..., "baseline": ..., "test": ..., "grid": [...], "trials": [...]}
//	D/report.md, D/rho.png
//
// Splits: the test split (the official test set for mnist and fashion-mnist, else a
// Base.TestFraction split), the folds (or the validation split) and the label noise are drawn
// once from Base.Seed and shared by every trial, so configurations are compared on the same
// data; the trial seeds (Base.Seed, Base.Seed+1, ...) vary initialisation, shuffling and
// dropout. Label noise is applied to the whole training pool, validation folds included, as a
// practitioner would see it; the test set stays clean. Each trial standardises features with
// its own training statistics.
//
// A trial id is the first 16 hex digits of the SHA-256 of the trial's canonical config JSON
// (the train.Config with ρ, lr, L2 and seed filled in, plus the fold), so ids change whenever
// anything that affects the trial changes.
//
// The main types: Spec (the base train.Config and the grid: ρ, learning rates, L2, seeds,
// folds), Options (folder, workers, shard), Run and Merge, and Results (results.json: the
// grid's Points, the best one, the test of the best and of the baseline).
//
//	spec := &sweep.Spec{Base: cfg, Rho: []float64{0, 0.02, 0.05, 0.1}, LR: []float64{cfg.LR},
//		L2: []float64{0}, Seeds: 2, Folds: 3}
//	res, err := sweep.Run(ctx, spec, sweep.Options{Out: "runs/sweep", Workers: 2})
//	fmt.Println("best ρ", res.Best.Rho)
package sweep
