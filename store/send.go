package store

import (
	"context"
	"fmt"
	"strings"
)

// optOutBatches are the sizes of the lookups OptedOut makes: a list is
// looked up in batches of the largest size, and its rest in the smallest
// size that holds it, padded by repeating a number, so that a handful of
// statements (each prepared once) serve lists of any length.
var optOutBatches = []int{1, 16, 128, 500}

// OptedOut returns which of the numbers (E.164) opted out of the
// organisation's messages: they are never sent to. Each number is one
// look-up in the (org_id, phone) key, however many opted out in all.
func (db *DB) OptedOut(ctx context.Context, orgID int64, phones []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(phones); {
		rest := len(phones) - start
		size := optOutBatches[len(optOutBatches)-1]
		for _, s := range optOutBatches {
			if s >= rest {
				size = s
				break
			}
		}
		n := min(size, rest)
		args := make([]any, 0, size+1)
		args = append(args, orgID)
		for i := range size {
			args = append(args, phones[start+min(i, n-1)])
		}
		rows, err := db.query(ctx, optOutQuery(size), args...)
		if err != nil {
			return nil, fmt.Errorf("store: read opt-outs of organisation %d: %w", orgID, err)
		}
		for rows.Next() {
			var phone string
			if err := rows.Scan(&phone); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: read opt-outs of organisation %d: %w", orgID, err)
			}
			out[phone] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: read opt-outs of organisation %d: %w", orgID, err)
		}
		start += n
	}
	return out, nil
}

// optOutQueries holds the query text of each batch size, built once.
var optOutQueries = func() map[int]string {
	m := map[int]string{}
	for _, size := range optOutBatches {
		m[size] = `SELECT phone FROM opt_outs WHERE org_id = ? AND phone IN (?` + strings.Repeat(", ?", size-1) + `)`
	}
	return m
}()

func optOutQuery(size int) string { return optOutQueries[size] }
