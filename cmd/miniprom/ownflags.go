package main

import "github.com/alecthomas/kingpin/v2"

// ownFlags are the flags miniprom has and Prometheus has not. --help shows
// them; /api/v1/status/flags leaves them out, as it lists exactly
// Prometheus's flags and clients compare it with theirs.
//
// Declare such a flag with flag, which records it, instead of a.Flag.
type ownFlags []string

// flag declares one of miniprom's own flags and records its name.
func (f *ownFlags) flag(a *kingpin.Application, name, help string) *kingpin.FlagClause {
	*f = append(*f, name)
	return a.Flag(name, help)
}
