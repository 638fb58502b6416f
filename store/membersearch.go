package store

import (
	"context"
	"fmt"
	"strings"

	"switchboard"
)

// Member search.
//
// A search matches the members whose sort_name (lower-case "first last
// email") contains the query, and returns them in the order and pages of
// the unfiltered list. Gathering every match and sorting it before LIMIT
// grew with the number of matches (130 req/s at 100,000 members for a query
// matching the 10,000 who sort last), and walking the whole name order grew
// with the organisation, so the index of migration 0010 is a posting list
// per gram that is itself in name order:
//
//   - member_grams holds, for each membership, one row per distinct gram
//     (substring of one or two characters) of its sort_name, keyed
//     (org_id, gram, sort_name, profile_id);
//   - member_gram_counts holds how many members of the organisation hold
//     each gram.
//
// Every occurrence of a query of two characters or more contains each of
// its bigrams (a one-character query is its own gram), so the matches are
// among the rows of any one of the query's grams. A search takes the rarest
// (a gram nobody holds means nobody matches, at once), walks its rows from
// the cursor in name order testing instr(sort_name, query), and stops at a
// page. The walk reads about limit rows when the gram is as selective as
// the query, and at most the gram's rows after the cursor when it is not
// (a rare query whose every bigram is common).
//
// Both engines have these plain tables; the store writes them in the
// transaction that inserts or deletes a membership or changes a sort_name
// (indexMember, unindexMember), never by trigger.

// gramWidth is the longest gram indexed, in characters. Bigrams keep the
// index near 45 rows per member; trigrams would be more selective for long
// queries and add about as many rows again.
const gramWidth = 2

// nameGrams returns the distinct substrings of one to gramWidth characters
// of s.
func nameGrams(s string) []string {
	var starts []int
	for i := range s {
		starts = append(starts, i)
	}
	starts = append(starts, len(s))
	seen := make(map[string]bool, 2*len(starts))
	var grams []string
	for i := 0; i < len(starts)-1; i++ {
		for w := 1; w <= gramWidth && i+w < len(starts); w++ {
			g := s[starts[i]:starts[i+w]]
			if !seen[g] {
				seen[g] = true
				grams = append(grams, g)
			}
		}
	}
	return grams
}

// queryGrams returns the grams every name containing query holds: the
// query itself when it is one character, else its distinct grams of
// gramWidth characters.
func queryGrams(query string) []string {
	var grams []string
	for _, g := range nameGrams(query) {
		if len([]rune(g)) == gramWidth || len([]rune(query)) < gramWidth {
			grams = append(grams, g)
		}
	}
	return grams
}

// indexMember adds the membership's grams to the search index, inside the
// transaction that inserted it or changed its sort_name.
func indexMember(ctx context.Context, tx *Tx, orgID, profileID int64, sortName string) error {
	grams := nameGrams(sortName)
	if len(grams) == 0 {
		return nil
	}
	var rows, counts strings.Builder
	rowArgs := make([]any, 0, 4*len(grams))
	countArgs := make([]any, 0, 2*len(grams))
	for i, g := range grams {
		if i > 0 {
			rows.WriteString(", ")
			counts.WriteString(", ")
		}
		rows.WriteString("(?, ?, ?, ?)")
		counts.WriteString("(?, ?, 1)")
		rowArgs = append(rowArgs, orgID, g, sortName, profileID)
		countArgs = append(countArgs, orgID, g)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO member_grams (org_id, gram, sort_name, profile_id) VALUES `+rows.String(), rowArgs...); err != nil {
		return fmt.Errorf("store: index member %d of organisation %d: %w", profileID, orgID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO member_gram_counts (org_id, gram, n) VALUES `+counts.String()+`
		ON CONFLICT (org_id, gram) DO UPDATE SET n = member_gram_counts.n + 1`, countArgs...); err != nil {
		return fmt.Errorf("store: index member %d of organisation %d: %w", profileID, orgID, err)
	}
	return nil
}

// unindexMember removes the membership's grams under its old sort_name,
// inside the transaction that deleted it or changed its sort_name. Counts
// that reach zero stay as rows: a zero answers like a missing gram.
func unindexMember(ctx context.Context, tx *Tx, orgID, profileID int64, sortName string) error {
	grams := nameGrams(sortName)
	if len(grams) == 0 {
		return nil
	}
	in := strings.Repeat("?, ", len(grams)-1) + "?"
	args := []any{orgID, sortName, profileID}
	for _, g := range grams {
		args = append(args, g)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM member_grams WHERE org_id = ? AND sort_name = ? AND profile_id = ? AND gram IN (`+in+`)`, args...); err != nil {
		return fmt.Errorf("store: unindex member %d of organisation %d: %w", profileID, orgID, err)
	}
	args = append([]any{orgID}, args[3:]...)
	if _, err := tx.ExecContext(ctx, `UPDATE member_gram_counts SET n = n - 1 WHERE org_id = ? AND gram IN (`+in+`)`, args...); err != nil {
		return fmt.Errorf("store: unindex member %d of organisation %d: %w", profileID, orgID, err)
	}
	return nil
}

// ReindexMembers rebuilds the organisation's search index from its
// memberships. The store keeps the index itself; this is for members
// written straight into the database, as benchmarks and the load tool do
// to make 100,000 of them in seconds.
func (db *DB) ReindexMembers(ctx context.Context, orgID int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		for _, q := range []string{
			`DELETE FROM member_grams WHERE org_id = ?`,
			`DELETE FROM member_gram_counts WHERE org_id = ?`,
			// As migration 0010's backfill, for one organisation.
			`INSERT INTO member_grams (org_id, gram, sort_name, profile_id)
			WITH RECURSIVE pos (org_id, profile_id, sort_name, i) AS (
				SELECT org_id, profile_id, sort_name, 1 FROM members WHERE org_id = ? AND sort_name != ''
				UNION ALL
				SELECT org_id, profile_id, sort_name, i + 1 FROM pos WHERE i < length(sort_name))
			SELECT DISTINCT org_id, substr(sort_name, i, w), sort_name, profile_id
			FROM pos, (SELECT 1 AS w UNION ALL SELECT 2) widths
			WHERE i + w - 1 <= length(sort_name)
			ORDER BY 1, 2, 3, 4`,
			`INSERT INTO member_gram_counts (org_id, gram, n)
			SELECT org_id, gram, COUNT(*) FROM member_grams WHERE org_id = ? GROUP BY org_id, gram`,
		} {
			if _, err := tx.ExecContext(ctx, q, orgID); err != nil {
				return fmt.Errorf("store: reindex members of organisation %d: %w", orgID, err)
			}
		}
		return nil
	})
}

// gramBatch is how many grams one count lookup reads: a fixed number of
// placeholders keeps one prepared statement for every query length.
const gramBatch = 8

// rarestGram returns the gram held by the fewest members of the
// organisation, and how many hold it (0 when some gram is held by nobody,
// which no member can then match).
func (db *DB) rarestGram(ctx context.Context, orgID int64, grams []string) (string, int, error) {
	best, bestN := "", -1
	q := `SELECT gram, n FROM member_gram_counts WHERE org_id = ? AND gram IN (` + strings.Repeat("?, ", gramBatch-1) + `?)`
	for start := 0; start < len(grams); start += gramBatch {
		batch := grams[start:min(start+gramBatch, len(grams))]
		args := []any{orgID}
		for i := range gramBatch {
			args = append(args, batch[min(i, len(batch)-1)]) // padded with a repeat
		}
		rows, err := db.query(ctx, q, args...)
		if err != nil {
			return "", 0, fmt.Errorf("store: search members of organisation %d: %w", orgID, err)
		}
		found := 0
		for rows.Next() {
			var g string
			var n int
			if err := rows.Scan(&g, &n); err != nil {
				rows.Close()
				return "", 0, fmt.Errorf("store: search members of organisation %d: %w", orgID, err)
			}
			found++
			if bestN < 0 || n < bestN {
				best, bestN = g, n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", 0, fmt.Errorf("store: search members of organisation %d: %w", orgID, err)
		}
		if found < len(batch) || bestN == 0 {
			return "", 0, nil // a gram nobody holds
		}
	}
	return best, max(bestN, 0), nil
}

// searchSQL walks the rows of one gram from the cursor in name order,
// keeps those whose sort_name contains the query, stops at limit+1 of
// them, and only then reads those members in full.
const searchSQL = `WITH hits AS (
		SELECT sort_name, profile_id FROM member_grams
		WHERE org_id = ? AND gram = ? AND (sort_name, profile_id) > (?, ?) AND instr(sort_name, ?) > 0
		ORDER BY sort_name, profile_id LIMIT ?)
	SELECT ` + memberColumns + ` FROM hits h
	JOIN members m ON m.org_id = ? AND m.profile_id = h.profile_id
	JOIN profiles p ON p.id = m.profile_id
	LEFT JOIN roles r ON r.id = m.custom_role_id AND r.org_id = m.org_id
	ORDER BY h.sort_name, h.profile_id`

func (db *DB) searchMembers(ctx context.Context, orgID int64, query string, after MemberCursor, limit int) ([]switchboard.Member, *MemberCursor, error) {
	gram, n, err := db.rarestGram(ctx, orgID, queryGrams(query))
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return []switchboard.Member{}, nil, nil
	}
	rows, err := db.query(ctx, searchSQL, orgID, gram, after.SortName, after.ProfileID, query, limit+1, orgID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: search members of organisation %d: %w", orgID, err)
	}
	return scanMemberPage(rows, orgID, limit)
}
