package store

// SetSearchWalk makes member searches turn to the trigram index after n
// members, so that tests reach it with small organisations; it returns the
// function that puts the bound back.
func SetSearchWalk(n int) (restore func()) {
	old := searchWalk
	searchWalk = n
	return func() { searchWalk = old }
}
