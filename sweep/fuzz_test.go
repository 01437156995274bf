package sweep

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzTrialFile: a trial file or sweep.json of any content makes the readers of a sweep folder
// (ReadSpec, done) return an error or skip the file, never panic; a record they accept
// aggregates without panicking.
func FuzzTrialFile(f *testing.F) {
	f.Add(`{"id":"t1","kind":"val","rho":0.05,"lr":0.1,"seed":1,"fold":0,"config":{"data":"iris"},"epochs":[{"epoch":1,"step":3,"train_loss":0.5,"lr":0.1,"seconds":0.1}],"final":{"train_examples":3,"val_acc":0.5,"val_loss":1.5}}`)
	f.Add(`{"id":"t1","final":{"val_acc":null,"val_loss":1e308}}`)
	f.Add(`{"id":"t1","epochs":null,"config":null}`)
	f.Add(`{"base":{"data":"iris"},"rho":[0,0.1],"folds":3,"seeds":2}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, TrialsDir), 0o755)
		os.WriteFile(filepath.Join(dir, TrialsDir, "t1.json"), []byte(content), 0o644)
		os.WriteFile(filepath.Join(dir, SpecFile), []byte(content), 0o644)
		ReadSpec(dir)
		recs, err := done(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			aggregate(r.Key(), []*Record{r})
			r.line()
		}
	})
}
