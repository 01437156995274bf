package sweep

import (
	"encoding/json"
	"testing"
)

// FuzzTrialFile: a trial file or sweep.json of any content is rejected or read, never a panic;
// a record that is accepted aggregates and prints, a grid that validates lists its trials.
func FuzzTrialFile(f *testing.F) {
	f.Add([]byte(`{"id":"t1","kind":"cv","rho":0.05,"lr":0.1,"seed":1,"fold":0,"config":{"data":"iris"},"epochs":[{"epoch":1,"step":3,"train_loss":0.5,"lr":0.1,"seconds":0.1}],"final":{"train_examples":3,"val_acc":0.5,"val_loss":1.5}}`))
	f.Add([]byte(`{"id":"t1","final":{"val_acc":null,"val_loss":1e308}}`))
	f.Add([]byte(`{"id":"t1","epochs":null,"config":null}`))
	f.Add([]byte(`{"base":{"data":"iris","task":"classification","lr":0.1,"epochs":1,"optimizer":{"name":"sgd"},"schedule":{"kind":"constant"},"sam":{"rho":0.05,"p":2}},"rho":[0,0.1],"lr":[0.1],"l2":[0],"folds":3,"seeds":2}`))
	f.Add([]byte(`{"seeds":1000000000000,"rho":[0],"lr":[1],"l2":[0],"folds":2}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r := parseRecord(b, "t1.json"); r != nil {
			aggregate(r.Key(), []*Record{r})
			r.line()
		}
		var s Spec
		if json.Unmarshal(b, &s) != nil || s.Validate() != nil || s.Folds > 1000 { // load bounds the folds by the data
			return
		}
		for _, tr := range s.Trials() {
			s.Config(tr)
		}
	})
}
