package main

import (
	"strconv"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"

	"github.com/miniprom/miniprom/pkg/api"
)

// queryLimitFlags are the flags of miniprom's own per-query limits, which
// Prometheus does not have. Their defaults are the server's.
type queryLimitFlags struct {
	length, responseBytes units.Base2Bytes
	limits                api.QueryLimits
	receiver              api.ReceiverLimits
}

func addQueryLimitFlags(a *kingpin.Application, own *ownFlags, limits api.QueryLimits, receiver api.ReceiverLimits) *queryLimitFlags {
	f := &queryLimitFlags{limits: limits, receiver: receiver}
	f.length = units.Base2Bytes(f.limits.MaxLength)
	f.responseBytes = units.Base2Bytes(f.limits.MaxResponseBytes)
	own.flag(a, "query.max-length", "Maximum length of a query, checked before it is parsed. 0 means no limit.").
		Default(f.length.String()).BytesVar(&f.length)
	own.flag(a, "query.max-operators", "Maximum number of operators, parentheses and brackets in a query, checked before it is parsed (parsing time grows with the square of the expression's depth). 0 means no limit.").
		Default(itoa(int64(f.limits.MaxOperators))).IntVar(&f.limits.MaxOperators)
	own.flag(a, "query.max-steps", "Maximum number of evaluation steps of a query, counting every subquery's steps, checked before it is evaluated. 0 means no limit.").
		Default(itoa(f.limits.MaxSteps)).Int64Var(&f.limits.MaxSteps)
	own.flag(a, "query.max-result-points", "Maximum number of samples a query may return. 0 means no limit.").
		Default(itoa(f.limits.MaxResultPoints)).Int64Var(&f.limits.MaxResultPoints)
	own.flag(a, "query.max-response-bytes", "Maximum size of a query's JSON response, estimated before it is encoded. 0 means no limit.").
		Default(f.responseBytes.String()).BytesVar(&f.responseBytes)
	own.flag(a, "web.remote-write-receiver.max-label-name-length", "Maximum length of a label name in a series sent to the remote write receiver; longer answers 400. 0 means no limit.").
		Default(itoa(int64(f.receiver.MaxLabelNameLength))).IntVar(&f.receiver.MaxLabelNameLength)
	own.flag(a, "web.remote-write-receiver.max-label-value-length", "Maximum length of a label value in a series sent to the remote write receiver; longer answers 400. 0 means no limit.").
		Default(itoa(int64(f.receiver.MaxLabelValueLength))).IntVar(&f.receiver.MaxLabelValueLength)
	own.flag(a, "web.remote-write-receiver.max-labels-per-series", "Maximum number of labels of a series sent to the remote write receiver; more answers 400. 0 means no limit.").
		Default(itoa(int64(f.receiver.MaxLabelsPerSeries))).IntVar(&f.receiver.MaxLabelsPerSeries)
	return f
}

// ReceiverLimits are the remote write receiver's limits the flags set.
func (f *queryLimitFlags) ReceiverLimits() api.ReceiverLimits { return f.receiver }

// QueryLimits are the limits the flags set.
func (f *queryLimitFlags) QueryLimits() api.QueryLimits {
	l := f.limits
	l.MaxLength = int(f.length)
	l.MaxResponseBytes = int64(f.responseBytes)
	return l
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
