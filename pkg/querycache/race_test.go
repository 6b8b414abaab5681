//go:build race

package querycache

// raceEnabled: the race detector makes the property tests' evaluations
// about ten times slower, so they run fewer sequences.
const raceEnabled = true
