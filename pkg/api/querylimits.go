package api

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// QueryLimits bound what one query may cost, so that no query can crash or
// pin the server. Upstream PromQL has none of these: its parser takes time
// growing with the square of an expression's depth and cannot be stopped, and
// a subquery allocates per step before evaluating anything.
type QueryLimits struct {
	// MaxLength bounds a query's length in bytes, checked before lexing
	// (--query.max-length).
	MaxLength int
	// MaxOperators bounds the operators, parentheses and brackets in a query,
	// counted by the lexer before parsing (--query.max-operators). Parsing
	// time grows with the square of the expression's depth, which these make.
	MaxOperators int
	// MaxSteps bounds the evaluation steps of a query: its own steps plus every
	// subquery's, checked on the parsed query before any evaluation
	// (--query.max-steps).
	MaxSteps int64
	// MaxResultPoints bounds the samples a query returns (--query.max-result-points).
	MaxResultPoints int64
	// MaxResponseBytes bounds the estimated size of a query's JSON response
	// (--query.max-response-bytes).
	MaxResponseBytes int64
	// DefaultSubqueryStep is the step of a subquery that gives none: the
	// engine's default, one minute.
	DefaultSubqueryStep time.Duration
}

// DefaultQueryLimits are on unless a flag changes them. They are far above
// what dashboards and rules ask for (a Grafana panel: 11,000 points a
// series; a range query's own step limit is 11,000) and far below what
// exhausts a small machine.
func DefaultQueryLimits() QueryLimits {
	return QueryLimits{
		MaxLength:           256 << 10,
		MaxOperators:        1000,
		MaxSteps:            1_000_000,
		MaxResultPoints:     10_000_000,
		MaxResponseBytes:    256 << 20,
		DefaultSubqueryStep: time.Minute,
	}
}

// CheckSize refuses a query that is too long or has too many operators,
// before the parser sees it. It stops when ctx ends.
func (l QueryLimits) CheckSize(ctx context.Context, qs string) error {
	if l.MaxLength > 0 && len(qs) > l.MaxLength {
		return fmt.Errorf("query is %d bytes, more than the %d allowed (--query.max-length)", len(qs), l.MaxLength)
	}
	if l.MaxOperators <= 0 {
		return nil
	}
	lx := parser.Lex(qs)
	ops, braces := 0, 0
	var it parser.Item
	for i := 0; ; i++ {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		lx.NextItem(&it)
		switch {
		case it.Typ == parser.EOF || it.Typ == parser.ERROR:
			// The parser reports lexing errors with their position.
			return nil
		case it.Typ == parser.LEFT_BRACE:
			braces++
		case it.Typ == parser.RIGHT_BRACE:
			braces--
		case braces > 0:
			// Label matchers (=~, !=) build no depth.
		case it.Typ.IsOperator(), it.Typ == parser.LEFT_PAREN, it.Typ == parser.LEFT_BRACKET:
			ops++
			if ops > l.MaxOperators {
				return fmt.Errorf("query has more than %d operators, parentheses and brackets (--query.max-operators)", l.MaxOperators)
			}
		}
	}
}

// CheckSteps refuses a parsed query whose evaluation would take more than
// MaxSteps steps: the query's own steps plus, for every subquery, the steps
// over the span it is evaluated across (its range plus the span of what
// encloses it). Upstream allocates per step before it evaluates, so this must
// run before the engine sees the query. interval is 0 for an instant query.
// A nil expr stands for a query without subqueries: only its own steps count.
func (l QueryLimits) CheckSteps(expr parser.Expr, start, end time.Time, interval time.Duration) error {
	if l.MaxSteps <= 0 {
		return nil
	}
	span := end.Sub(start)
	total := int64(1)
	if interval > 0 {
		total = int64(span/interval) + 1
	}
	var walk func(e parser.Expr, span time.Duration) error
	walk = func(e parser.Expr, span time.Duration) error {
		if total > l.MaxSteps {
			return fmt.Errorf("query would take more than %d evaluation steps (--query.max-steps); use a larger subquery step or a shorter range", l.MaxSteps)
		}
		if e == nil {
			return nil
		}
		if sq, ok := e.(*parser.SubqueryExpr); ok {
			step := sq.Step
			if step <= 0 {
				step = l.DefaultSubqueryStep
			}
			if step <= 0 {
				step = time.Minute
			}
			span += sq.Range
			steps := int64(span/step) + 1
			if span < 0 || steps < 0 || total+steps < 0 { // overflow
				steps = l.MaxSteps + 1
			}
			total += steps
			if total > l.MaxSteps {
				return fmt.Errorf("query would take more than %d evaluation steps (--query.max-steps): a subquery [%s:%s] takes %d; use a larger subquery step or a shorter range", l.MaxSteps, model.Duration(sq.Range), model.Duration(step), steps)
			}
		}
		for _, c := range parser.Children(e) {
			if ce, ok := c.(parser.Expr); ok {
				if err := walk(ce, span); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(expr, span)
}
