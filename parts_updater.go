package sam

// Updater is a Rule that makes the update itself instead of one base-optimizer step with the
// gradient it returns: Lookbehind-SAM steps the base optimizer on its fast weights and then
// interpolates. After Gradient, the L2 term (at w) and the finite check, the core calls
// Update(s, w, g) with that gradient in place of s.Base.Step(w, g, s.LR); Update must leave the
// new parameters in w.
type Updater interface {
	Rule
	Update(s *Step, w, g []float32)
}
