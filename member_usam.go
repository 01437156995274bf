package sam

import "errors"

// USAM (Andriushchenko & Flammarion, ICML 2022): SAM without the normalisation, ε = ρ·g
// (ρ·T²g with --adaptive). It has no p-norm.
func init() {
	Register(&Member{
		Name: "usam", Title: "USAM", Source: "Andriushchenko & Flammarion, ICML 2022",
		Summary: "unnormalised ascent ε = ρ·g",
		Passes:  "2",
		Check: func(c Config) error {
			if c.P != 0 && c.P != 2 {
				return errors.New("--p: usam's unnormalised ε = ρ·g has no p; leave p = 2")
			}
			return nil
		},
		New: func(_ Config, p *Perturbation) Rule { p.Raw = true; return &plain{} },
	})
}
