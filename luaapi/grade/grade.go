// Package grade runs exercise files and grades their check() calls: each
// file runs on a clean keyspace of its own, in a child process with CPU,
// memory and wall-clock limits, in the Lua sandbox (luaapi.Sandbox), and
// the results are printed as one pass/fail table (claimsctl check).
//
// It may import luaapi, streams, streams/upkeep and streams/quota; only
// main imports it.
package grade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"claimsctl/luaapi"
	"claimsctl/streams"
	"claimsctl/streams/quota"
	"claimsctl/streams/upkeep"
)

// DefaultTimeout is how long one exercise may run before it is stopped as
// an endless loop.
const DefaultTimeout = time.Minute

// ChildCommand is the hidden claimsctl subcommand that grades one file in
// a child process and writes its Outcome as JSON to file descriptor
// ReportFD (main wires it to Grade):
//
//	claimsctl grade-one-file --prefix P --timeout D --temp DIR [--lib DIR ...] [--checks NAME ...] FILE
const ChildCommand = "grade-one-file"

// ReportFD is where the child writes its report: not its standard output,
// which a hand-in that found a way to print there could fill with a report
// of its own.
const ReportFD = 3

// Options say what to grade and where.
type Options struct {
	// Store is the connection; each file runs under a fresh key prefix
	// below the store's own, deleted afterwards.
	Store *streams.Store
	// Backend describes the server to the scripts (luaapi.Config.Backend).
	Backend string
	// Out receives each file's output as it is graded, if Verbose.
	Out io.Writer
	// Err receives what went wrong around the grading (a failed clean-up);
	// nil discards it.
	Err     io.Writer
	Verbose bool
	// Timeout bounds each file (default DefaultTimeout).
	Timeout time.Duration
	// Files are the exercises in the order graded (see Files).
	Files []string
	// Lib are folders of the exercises' modules (claimsctl check --lib).
	// require looks in them before the hand-in's own folder, so a file
	// handed in under a module's name does not replace the checks.
	Lib []string
	// Exercises is the folder of the exercises: a hand-in named like one
	// of them (alice/01_high_value_consumer.lua) uses its lib/.
	Exercises string
	// Launcher, if set, grades each file in a child claimsctl under
	// Limits. nil grades in this process: in the Lua sandbox still, but
	// without CPU and memory limits (tests).
	Launcher *luaapi.Launcher
	Limits   luaapi.Limits
	// Quota bounds what each file stores in Redis (its child counts its
	// writes; this process measures its keys meanwhile).
	Quota quota.Limits
	// Base is the folder rows name files relative to (CommonDir of what
	// was given); "" names them by their base names.
	Base string
}

// Row is one line of the table.
type Row struct {
	File   string // the file's name: its path relative to Options.Base
	Check  string // the check() name, or "(script)", "(outside any check)" …
	Result string // "pass", "FAIL" or "ERROR"
	Detail string // the first failed expectation or the error, in one line
}

// Result is what grading found: the table's rows, file by file.
type Result struct {
	Rows           []Row
	Files          []FileResult
	Passed, Failed int
}

// FileResult is one graded file.
type FileResult struct {
	Name     string // as its rows name it
	Rows     []Row
	Output   string // what it printed, cut at maxOutput
	Duration time.Duration
}

// Run grades o.Files one after the other. If ctx is cancelled (Ctrl-C),
// it returns what was graded so far and ctx's error.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	var res Result
	for i, file := range o.Files {
		// The pid keeps two graders on one server apart.
		prefix := fmt.Sprintf("%scheck:%d:%d:", o.Store.Keys().Prefix, os.Getpid(), i)
		f := runFile(ctx, o, prefix, file)
		res.Files = append(res.Files, f)
		res.Rows = append(res.Rows, f.Rows...)
		for _, r := range f.Rows {
			if r.Result == "pass" {
				res.Passed++
			} else {
				res.Failed++
			}
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	return res, nil
}

// displayName is how rows name file: relative to base, else its base name.
func displayName(file, base string) string {
	if base != "" {
		if abs, err := filepath.Abs(file); err == nil {
			if rel, err := filepath.Rel(base, abs); err == nil && !strings.HasPrefix(rel, "..") {
				return filepath.ToSlash(rel)
			}
		}
	}
	return filepath.Base(file)
}

// CommonDir is the folder that holds every target (a folder, or a file's
// folder), absolute: rows name files relative to it, so `check DIR
// DIR/solutions` tells 01.lua from solutions/01.lua.
func CommonDir(targets []string) (string, error) {
	var common []string
	for i, t := range targets {
		abs, err := filepath.Abs(t)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", t, err)
		}
		if info, err := os.Stat(abs); err == nil && !info.IsDir() {
			abs = filepath.Dir(abs)
		}
		parts := strings.Split(filepath.Clean(abs), string(filepath.Separator))
		if i == 0 {
			common = parts
			continue
		}
		n := 0
		for n < len(common) && n < len(parts) && common[n] == parts[n] {
			n++
		}
		common = common[:n]
	}
	dir := strings.Join(common, string(filepath.Separator))
	if dir == "" {
		dir = string(filepath.Separator)
	}
	return dir, nil
}

// runFile grades one exercise on its own keyspace and temp folder, and
// deletes both.
func runFile(ctx context.Context, o Options, prefix, file string) FileResult {
	start := time.Now()
	exercise := o.Store.WithPrefix(prefix)
	// The server side of the quota: whatever path the file's writes take,
	// its keys are measured here, and past the quota the file is stopped.
	fileCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	guard := quota.New(o.Store.Client(), prefix, o.Quota, stop)
	watchCtx, stopWatch := context.WithCancel(fileCtx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		guard.Watch(watchCtx)
	}()
	var res Outcome
	if tmp, err := os.MkdirTemp("", "claimsctl-check-"); err != nil {
		res.Error = fmt.Sprintf("create a temp folder: %v", err)
	} else {
		lib := libs(file, o)
		job := Job{Store: exercise, Backend: o.Backend, File: file, Lib: lib, TempDir: tmp, Timeout: o.Timeout,
			Checks: exerciseChecks(file, o.Exercises, lib), Quota: o.Quota}
		if o.Launcher != nil {
			res = inChild(fileCtx, o, job)
		} else {
			res = Grade(fileCtx, job)
		}
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintf(o.Err, "claimsctl: clean up after %s: %v\n", file, err)
		}
	}
	stopWatch()
	<-watched
	// Once more at the end: a file that passed its quota between two
	// measurements is an error too.
	if ctx.Err() == nil {
		_ = guard.Check(ctx)
	}
	if err := guard.Err(); err != nil {
		res.Error, res.ChecksError = err.Error(), ""
	}
	// Clean up even after Ctrl-C: the keys would otherwise stay behind.
	if _, err := upkeep.DeleteAll(context.WithoutCancel(ctx), exercise); err != nil {
		fmt.Fprintf(o.Err, "claimsctl: clean up after %s: %v\n", file, err)
	}
	name := displayName(file, o.Base)
	if o.Verbose {
		fmt.Fprintf(o.Out, "== %s\n%s", name, res.Output)
	}
	return FileResult{Name: name, Rows: fileRows(name, res), Output: res.Output, Duration: time.Since(start)}
}

// libs are the module folders of file: --lib, the lib/ of the exercise it
// is named after, and its parent's lib/ (solutions/ shares exercises/lib).
func libs(file string, o Options) []string {
	var out []string
	add := func(dir string) {
		abs, err := filepath.Abs(dir)
		if info, statErr := os.Stat(abs); err == nil && statErr == nil && info.IsDir() && !slices.Contains(out, abs) {
			out = append(out, abs)
		}
	}
	for _, l := range o.Lib {
		add(l)
	}
	if o.Exercises != "" {
		if _, err := os.Stat(filepath.Join(o.Exercises, filepath.Base(file))); err == nil {
			add(filepath.Join(o.Exercises, "lib"))
		}
	}
	add(filepath.Join(filepath.Dir(file), "..", "lib"))
	return out
}

// exerciseChecks are the checks modules of the exercise file is named
// after: those its exercise in the folder exercises requires, found in
// lib and declaring checks. The exercise, not the hand-in, says which
// checks grade it.
func exerciseChecks(file, exercises string, lib []string) []string {
	if exercises == "" {
		return nil
	}
	src, err := os.ReadFile(filepath.Join(exercises, filepath.Base(file)))
	if err != nil {
		return nil
	}
	var out []string
	for _, name := range luaapi.RequiredModules(string(src)) {
		rel := strings.ReplaceAll(name, ".", string(filepath.Separator)) + ".lua"
		for _, d := range lib {
			if mod, err := os.ReadFile(filepath.Join(d, rel)); err == nil {
				if luaapi.DeclaresChecks(string(mod)) {
					out = append(out, name)
				}
				break
			}
		}
	}
	return out
}

// fileRows turns one exercise run into table rows: one per check(), plus a
// row for failures outside any check, for attempts to leave the sandbox and
// for a script error.
func fileRows(name string, res Outcome) []Row {
	var rows []Row
	add := func(check, result, detail string) {
		rows = append(rows, Row{File: name, Check: oneLine(check), Result: result, Detail: oneLine(detail)})
	}
	for _, ch := range res.Checks {
		switch {
		case ch.Errored:
			add(ch.Name, "ERROR", ch.Message)
		case !ch.Passed:
			add(ch.Name, "FAIL", ch.Message)
		default:
			add(ch.Name, "pass", "")
		}
	}
	if res.Outside > 0 {
		detail := res.FirstOutside
		if res.Outside > 1 {
			detail = fmt.Sprintf("%s (and %d more)", res.FirstOutside, res.Outside-1)
		}
		add("(outside any check)", "FAIL", detail)
	}
	// An escape the script did not catch is already its check's error or
	// the script's; one it caught would otherwise go unseen.
	var caught []string
	for _, e := range res.Escapes {
		if e != res.Error && !slices.ContainsFunc(res.Checks, func(ch luaapi.CheckResult) bool { return ch.Message == e }) {
			caught = append(caught, e)
		}
	}
	if n := len(caught); n > 0 {
		detail := caught[0]
		if n > 1 {
			detail = fmt.Sprintf("%s (and %d more)", detail, n-1)
		}
		add("(sandbox)", "ERROR", detail)
	}
	if res.ChecksError != "" {
		add("(checks)", "ERROR", res.ChecksError)
	}
	if res.NoChecks && res.Error == "" {
		add("(no exercise checks)", "FAIL", noChecksDetail)
	}
	if res.Error != "" {
		detail := res.Error
		if strings.Contains(detail, " not found: no file ") {
			detail += " (claimsctl check --lib DIR adds a folder of modules)"
		}
		add("(script)", "ERROR", detail)
	}
	if len(rows) == 0 {
		add("(no check() in the checks)", "FAIL", "")
	}
	return rows
}

const noChecksDetail = "nothing grades this file: name it like an exercise, or require its checks (claimsctl check --lib DIR adds a folder of modules)"

// maxDetail is the most runes of a message a row shows.
const maxDetail = 300

// oneLine keeps a row on its line whatever a script wrote: line breaks,
// tabs and other control characters become spaces, long messages are cut.
func oneLine(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > maxDetail {
		s = string(r[:maxDetail]) + "…"
	}
	return s
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
