package switchboard

// ImportBatch is what an import worker writes in one transaction: the
// contacts of a stretch of the file (read, checked, each number once in
// the file) and the lines it skipped, with the import's progress after
// them, so that the progress on the page and what is in the phonebook
// never disagree, and a restart resumes after the last batch written.
type ImportBatch struct {
	Import    *ContactImport // its Claim is checked and renewed
	Processed int            // data rows read after this batch, in all
	Contacts  []Contact
	Problems  []ImportProblem
}
