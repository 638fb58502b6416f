package store

// SearchSQL is the query a member search walks its gram with, so that a
// test can read its plan.
const SearchSQL = searchSQL
