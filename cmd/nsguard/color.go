package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// colorFlag is the --color flag of the commands that print text reports.
type colorFlag string

func (c *colorFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar((*string)(c), "color", "auto", "colour the text output: auto (on a terminal, unless NO_COLOR is set or TERM is dumb), always or never")
}

// validate reports an unknown value as a usage error.
func (c colorFlag) validate() error {
	switch c {
	case "auto", "always", "never":
		return nil
	}
	return withCode(exitUsage, fmt.Errorf("unknown --color %q (want auto, always or never)", string(c)))
}

// enabled says whether output to w is coloured.
func (c colorFlag) enabled(w io.Writer) bool {
	switch c {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
