package main

import (
	"strconv"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"

	"github.com/miniprom/miniprom/pkg/api"
)

// queryLimitFlags are the flags of miniprom's own per-query limits, which
// Prometheus does not have. They start at api.DefaultQueryLimits.
type queryLimitFlags struct {
	length, responseBytes units.Base2Bytes
	limits                api.QueryLimits
	receiver              api.ReceiverLimits
}

func addQueryLimitFlags(a *kingpin.Application) *queryLimitFlags {
	f := &queryLimitFlags{limits: api.DefaultQueryLimits(), receiver: api.DefaultReceiverLimits()}
	f.length = units.Base2Bytes(f.limits.MaxLength)
	f.responseBytes = units.Base2Bytes(f.limits.MaxResponseBytes)
	a.Flag("query.max-length", "Maximum length of a query, checked before it is parsed. 0 means no limit.").
		Default(f.length.String()).BytesVar(&f.length)
	a.Flag("query.max-operators", "Maximum number of operators, parentheses and brackets in a query, checked before it is parsed (parsing time grows with the square of the expression's depth). 0 means no limit.").
		Default(itoa(int64(f.limits.MaxOperators))).IntVar(&f.limits.MaxOperators)
	a.Flag("query.max-steps", "Maximum number of evaluation steps of a query, counting every subquery's steps, checked before it is evaluated. 0 means no limit.").
		Default(itoa(f.limits.MaxSteps)).Int64Var(&f.limits.MaxSteps)
	a.Flag("query.max-result-points", "Maximum number of samples a query may return. 0 means no limit.").
		Default(itoa(f.limits.MaxResultPoints)).Int64Var(&f.limits.MaxResultPoints)
	a.Flag("query.max-response-bytes", "Maximum size of a query's JSON response, estimated before it is encoded. 0 means no limit.").
		Default(f.responseBytes.String()).BytesVar(&f.responseBytes)
	a.Flag("web.remote-write-receiver.max-label-name-length", "Maximum length of a label name in a series sent to the remote write receiver; longer answers 400. 0 means no limit.").
		Default(itoa(int64(f.receiver.MaxLabelNameLength))).IntVar(&f.receiver.MaxLabelNameLength)
	a.Flag("web.remote-write-receiver.max-label-value-length", "Maximum length of a label value in a series sent to the remote write receiver; longer answers 400. 0 means no limit.").
		Default(itoa(int64(f.receiver.MaxLabelValueLength))).IntVar(&f.receiver.MaxLabelValueLength)
	a.Flag("web.remote-write-receiver.max-labels-per-series", "Maximum number of labels of a series sent to the remote write receiver; more answers 400. 0 means no limit.").
		Default(itoa(int64(f.receiver.MaxLabelsPerSeries))).IntVar(&f.receiver.MaxLabelsPerSeries)
	return f
}

// queryLimitFlagNames are the flags miniprom has and Prometheus has not.
func queryLimitFlagNames() []string {
	return []string{
		"query.max-length", "query.max-operators", "query.max-steps", "query.max-result-points", "query.max-response-bytes",
		"web.remote-write-receiver.max-label-name-length", "web.remote-write-receiver.max-label-value-length", "web.remote-write-receiver.max-labels-per-series",
	}
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
