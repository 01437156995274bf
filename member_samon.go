package sam

import "github.com/samgo/sam/param"

// SAM-ON (Mueller et al., NeurIPS 2023): SAM with ε on the normalisation layers' parameters
// only (BatchNorm's scale and shift); every other parameter is taken at w.
func init() {
	Register(&Member{
		Name: "samon", Title: "SAM-ON", Source: "Mueller et al., NeurIPS 2023",
		Summary: "ε on the normalisation layers only",
		Passes:  "2",
		New: func(_ Config, p *Perturbation) Rule {
			k := param.Norm
			p.Only = &k
			return &plain{}
		},
	})
}
