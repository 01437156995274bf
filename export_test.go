package sam

// SetForkWindow sets the memory bound of m-sharpness on forks (forkWindow) for a test and
// returns the previous one.
func SetForkWindow(bytes int) int {
	old := forkWindow
	forkWindow = bytes
	return old
}
