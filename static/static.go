// Package static holds the panel's stylesheet and images, embedded in the
// binary.
package static

import "embed"

// FS holds the static files, served under /static/.
//
//go:embed *.css *.svg *.js
var FS embed.FS
