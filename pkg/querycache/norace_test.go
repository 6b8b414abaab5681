//go:build !race

package querycache

const raceEnabled = false
