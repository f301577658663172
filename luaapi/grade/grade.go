// Package grade runs exercise files and grades their check() calls: each
// file runs on a clean keyspace of its own, and the results are printed as
// one pass/fail table (claimsctl check).
package grade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"claimsctl/luaapi"
	"claimsctl/streams"
)

// DefaultTimeout is how long one exercise may run before it is stopped as
// an endless loop.
const DefaultTimeout = time.Minute

// Options say what to grade and where.
type Options struct {
	// Store is the connection; each file runs under a fresh key prefix
	// below the store's own, deleted afterwards.
	Store *streams.Store
	// Backend describes the server to the scripts (luaapi.Config.Backend).
	Backend string
	// Out receives the table, and each file's output if Verbose.
	Out io.Writer
	// Err receives what went wrong around the grading (a failed clean-up);
	// nil discards it.
	Err     io.Writer
	Verbose bool
	// Timeout bounds each file (default DefaultTimeout).
	Timeout time.Duration
	// Files are the exercises in the order graded (see Files).
	Files []string
}

// Row is one line of the table.
type Row struct {
	File   string // the exercise's base name
	Check  string // the check() name, or "(script)", "(outside any check)" …
	Result string // "pass", "FAIL" or "ERROR"
	Detail string // the first failed expectation or the error
}

// Result is the whole table.
type Result struct {
	Rows           []Row
	Passed, Failed int
}

// Run grades o.Files one after the other and prints the table. If ctx is
// cancelled (Ctrl-C), it prints what was graded so far and returns ctx's
// error.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	var rows []Row
	for i, file := range o.Files {
		// The pid keeps two graders on one server apart.
		prefix := fmt.Sprintf("%scheck:%d:%d:", o.Store.Keys().Prefix, os.Getpid(), i)
		rows = append(rows, runFile(ctx, o, o.Store.WithPrefix(prefix), file)...)
		if ctx.Err() != nil {
			return printTable(o.Out, rows), ctx.Err()
		}
	}
	return printTable(o.Out, rows), nil
}

// runFile runs one exercise on its own keyspace and deletes the keyspace.
func runFile(ctx context.Context, o Options, exercise *streams.Store, file string) []Row {
	var out bytes.Buffer
	rt := luaapi.New(luaapi.Config{Store: exercise, Out: &out, Backend: o.Backend})
	fileCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	runErr := rt.DoFile(fileCtx, file)
	if fileCtx.Err() == context.DeadlineExceeded {
		runErr = fmt.Errorf("stopped after %s: an endless loop? (claimsctl check --timeout sets the limit)", o.Timeout)
	}
	cancel()
	checks := rt.Checks()
	outside, firstOutside := rt.FailedOutsideChecks()
	rt.Close()
	// Clean up even after Ctrl-C: the keys would otherwise stay behind.
	if _, err := exercise.DeleteAll(context.WithoutCancel(ctx)); err != nil {
		fmt.Fprintf(o.Err, "claimsctl: clean up after %s: %v\n", file, err)
	}
	if o.Verbose {
		fmt.Fprintf(o.Out, "== %s\n%s", file, out.String())
	}
	return fileRows(file, checks, outside, firstOutside, runErr)
}

// fileRows turns one exercise run into table rows: one per check(), plus a
// row for failures outside any check and for a script error.
func fileRows(file string, checks []luaapi.CheckResult, outside int, firstOutside string, runErr error) []Row {
	name := filepath.Base(file)
	var rows []Row
	for _, ch := range checks {
		row := Row{File: name, Check: ch.Name, Result: "pass"}
		switch {
		case ch.Errored:
			row.Result, row.Detail = "ERROR", ch.Message
		case !ch.Passed:
			row.Result, row.Detail = "FAIL", ch.Message
		}
		rows = append(rows, row)
	}
	if outside > 0 {
		detail := firstOutside
		if outside > 1 {
			detail = fmt.Sprintf("%s (and %d more)", firstOutside, outside-1)
		}
		rows = append(rows, Row{File: name, Check: "(outside any check)", Result: "FAIL", Detail: detail})
	}
	if runErr != nil {
		rows = append(rows, Row{File: name, Check: "(script)", Result: "ERROR", Detail: runErr.Error()})
	}
	if len(rows) == 0 {
		rows = append(rows, Row{File: name, Check: "(no check() in this file)", Result: "FAIL"})
	}
	return rows
}

// printTable writes the rows in columns, each file's name once, and a
// total line.
func printTable(w io.Writer, rows []Row) Result {
	res := Result{Rows: rows}
	fileWidth, checkWidth := len("exercise"), len("check")
	for _, r := range rows {
		fileWidth = max(fileWidth, len(r.File))
		checkWidth = max(checkWidth, len(r.Check))
	}
	fmt.Fprintf(w, "%-*s  %-*s  %s\n", fileWidth, "exercise", checkWidth, "check", "result")
	last := ""
	for _, r := range rows {
		file := r.File
		if file == last {
			file = ""
		}
		last = r.File
		line := fmt.Sprintf("%-*s  %-*s  %s", fileWidth, file, checkWidth, r.Check, r.Result)
		if r.Detail != "" {
			line += "  " + r.Detail
		}
		fmt.Fprintln(w, line)
		if r.Result == "pass" {
			res.Passed++
		} else {
			res.Failed++
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", res.Passed, res.Failed)
	return res
}

// Files expands the targets: a directory stands for the .lua files
// directly inside it, a file for itself.
func Files(targets []string) ([]string, error) {
	var files []string
	for _, t := range targets {
		info, err := os.Stat(t)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %v", t, errors.Unwrap(err))
		}
		if !info.IsDir() {
			files = append(files, t)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(t, "*.lua"))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", t, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no .lua files in %s", t)
		}
		files = append(files, matches...)
	}
	return files, nil
}
