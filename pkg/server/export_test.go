package server

// SetIdleCoresForTest makes servers started from now on split range
// queries by their count of range queries alone (idle nil), or by idle,
// and returns what restores the default.
func SetIdleCoresForTest(idle func() int) (restore func()) {
	old := idleCores
	idleCores = idle
	return func() { idleCores = old }
}
