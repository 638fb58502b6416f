package switchboard

//go:generate go tool templ generate
