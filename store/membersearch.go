package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"switchboard"
)

// Member search, the one SQLite-specific part of the members list (the
// FTS5 index of migration 0008; PostgreSQL will use pg_trgm).
//
// A search matches the members whose sort_name (lower-case "first last
// email") contains the query, and returns them in the order and pages of
// the unfiltered list. Gathering every match and sorting it before LIMIT
// grew with the organisation (8 req/s at 100,000 members), so:
//
//  1. Walk members_by_name from the cursor, testing each name, and stop at
//     a page of matches or after searchWalk members. A query that matches
//     many members fills its page there, at any depth.
//  2. If the walk read searchWalk members without a full page, the query
//     is rare: collect its matches from the trigram
//     index, within the organisation's rowid range, and sort those few.
//
// Both steps test instr(sort_name, query), so the index only narrows the
// candidates and the result is exactly the plain substring match.

// searchWalk is how many members a search reads in name order before it
// turns to the trigram index. A query that fills no page within it matches
// fewer than about one member in searchWalk/page, so the index finds at most
// that share of the organisation.
var searchWalk = 1500

// searchRowid is the member_search rowid range of an organisation.
func searchRowids(orgID int64) (first, last int64) {
	return orgID << 32, orgID<<32 | 0xFFFFFFFF
}

func (db *DB) searchMembers(ctx context.Context, orgID int64, query string, after MemberCursor, limit int) ([]switchboard.Member, *MemberCursor, error) {
	rows, err := db.query(ctx, `WITH walk AS (
			SELECT sort_name, profile_id FROM members
			WHERE org_id = ? AND (sort_name, profile_id) > (?, ?)
			ORDER BY sort_name, profile_id LIMIT ?)
		SELECT `+memberColumns+` FROM walk w
		CROSS JOIN members m ON m.org_id = ? AND m.profile_id = w.profile_id
		JOIN profiles p ON p.id = m.profile_id
		LEFT JOIN roles r ON r.id = m.custom_role_id AND r.org_id = m.org_id
		WHERE instr(w.sort_name, ?) > 0
		ORDER BY w.sort_name, w.profile_id LIMIT ?`,
		orgID, after.SortName, after.ProfileID, searchWalk, orgID, query, limit+1)
	if err != nil {
		return nil, nil, fmt.Errorf("store: search members of organisation %d: %w", orgID, err)
	}
	list, next, err := scanMemberPage(rows, orgID, limit)
	if err != nil || next != nil {
		return list, next, err
	}
	// No next page within the walk: it is the last page if the walk read
	// every member after the cursor, which is sure when the whole
	// organisation fits in it (the kept count says so in one read). In a
	// larger one, the index answers, even near its end.
	var members int
	if err := db.queryRow(ctx, `SELECT member_count FROM organisations WHERE id = ?`, orgID).Scan(&members); err != nil {
		return nil, nil, fmt.Errorf("store: search members of organisation %d: %w", orgID, err)
	}
	if members <= searchWalk {
		return list, nil, nil
	}
	match, err := db.searchExpression(ctx, query)
	if err != nil || match == "" {
		return nil, nil, err // no trigram begins with the query: nobody matches
	}
	first, last := searchRowids(orgID)
	// CROSS JOIN keeps the index as the outer loop: the rare matches first,
	// then each one's member row; only the page's members are then read in
	// full (CROSS JOIN again: left to itself, the planner may scan the
	// organisation's members and look each one up among the hits).
	rows, err = db.query(ctx, `WITH hits AS (
			SELECT m.sort_name, m.profile_id FROM member_search s
			CROSS JOIN members m ON m.org_id = ? AND m.profile_id = s.rowid - ?
			WHERE s.member_search MATCH ? AND s.rowid BETWEEN ? AND ?
			AND (m.sort_name, m.profile_id) > (?, ?) AND instr(m.sort_name, ?) > 0
			ORDER BY m.sort_name, m.profile_id LIMIT ?)
		SELECT `+memberColumns+` FROM hits h
		CROSS JOIN members m ON m.org_id = ? AND m.profile_id = h.profile_id
		JOIN profiles p ON p.id = m.profile_id
		LEFT JOIN roles r ON r.id = m.custom_role_id AND r.org_id = m.org_id
		ORDER BY h.sort_name, h.profile_id`,
		orgID, first, match, first, last, after.SortName, after.ProfileID, query, limit+1, orgID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: search members of organisation %d: %w", orgID, err)
	}
	return scanMemberPage(rows, orgID, limit)
}

// ftsString quotes s as an FTS5 string: every character literal.
func ftsString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// searchExpression returns the FTS5 query that finds the rows containing
// query, or "" when none can. A query of three characters or more is the
// phrase of its trigrams. A shorter one has no trigram of its own, but each
// of its occurrences begins a trigram (the indexed text ends with two
// separators), so it is the OR of the index's trigrams that begin with it,
// read in order from the vocabulary. (The vocabulary is no guide to which
// trigrams are rare: it counts a term's rows by reading them all.)
func (db *DB) searchExpression(ctx context.Context, query string) (string, error) {
	if utf8.RuneCountInString(query) >= 3 {
		return ftsString(query), nil
	}
	// No UTF-8 text holds the byte 0xFF, so every term that begins with the
	// query sorts before query+"\xff".
	rows, err := db.query(ctx, `SELECT term FROM member_search_terms WHERE term >= ? AND term < ?`, query, query+"\xff")
	if err != nil {
		return "", fmt.Errorf("store: search terms: %w", err)
	}
	defer rows.Close()
	var terms []string
	for rows.Next() {
		var term string
		if err := rows.Scan(&term); err != nil {
			return "", fmt.Errorf("store: search terms: %w", err)
		}
		if !strings.HasPrefix(term, query) {
			continue
		}
		terms = append(terms, ftsString(term))
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("store: search terms: %w", err)
	}
	return strings.Join(terms, " OR "), nil
}
