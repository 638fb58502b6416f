package store

// HistoryQuery is the query a history page runs under a filter, so that a
// test can read its plan.
var HistoryQuery = historyQuery
