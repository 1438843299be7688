package main

import (
	"encoding/json"
	"fmt"

	"github.com/nsguard/nsguard/internal/version"
	"github.com/spf13/cobra"
)

func newVersionCommand(s *streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the nsguard version",
		Example: `  nsguard version
  nsguard version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			switch output {
			case "text":
				fmt.Fprintf(s.Out, "nsguard %s", info.Version)
				if info.Commit != "" {
					fmt.Fprintf(s.Out, " (commit %s)", info.Commit)
				}
				fmt.Fprintf(s.Out, " %s\n", info.GoVersion)
				return nil
			case "json":
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			default:
				return withCode(exitUsage, fmt.Errorf("unknown output format %q (want text or json)", output))
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
