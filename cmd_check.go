package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"claimsctl/luaapi"
	"claimsctl/luaapi/grade"
	"claimsctl/streams/quota"
	"claimsctl/streams/redisconn"
)

// checkCmd grades exercise scripts (luaapi/grade), each in a child
// process with limits, in the Lua sandbox.
type checkCmd struct {
	*base
	verbose  bool
	timeout  time.Duration
	cpu      time.Duration
	memoryMB int64
	lib      dirList
	format   string
	output   string
	quota    quotaFlags
}

// exercisesDir is what check grades when given no files, and where a
// hand-in named like an exercise finds that exercise's lib/.
const exercisesDir = "scripts/exercises"

func (c *checkCmd) doc() doc {
	return doc{name: "check", args: "[flags] [FILE.lua|DIR ...]", summary: "grade exercises: a pass/fail table, exit 3 on any failure",
		about: "Grades exercises: runs each file (a DIR stands for the .lua files in it;\n" +
			"default " + exercisesDir + ") on a clean keyspace of its own, then its\n" +
			"exercise's checks (lib/checks_NN.lua) in a Lua state the file cannot reach,\n" +
			"prints a pass/fail table, and exits 3 if any failed.\n\n" +
			"Each file runs in a sandbox, in a process of its own: no os.execute, files\n" +
			"written only in a temp folder, Lua loaded only from the file's folder and\n" +
			"the exercise's lib/, and the limits below. A hand-in named like a file of\n" +
			exercisesDir + " uses its lib/; --lib names other module folders.\n\n" +
			"Rows name each file by its path relative to the folder that holds\n" +
			"everything given. --format junit writes JUnit XML for a CI's test report,\n" +
			"--format json a results.json as Gradescope reads it (a point per row);\n" +
			"with -o FILE the report goes there and the table to the terminal."}
}

func (c *checkCmd) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.verbose, "v", false, "show each exercise's output")
	fs.StringVar(&c.format, "format", "table", "the report: `F` is table, junit or json")
	fs.StringVar(&c.output, "o", "", "write the report to `FILE` (and the table to stdout)")
	fs.DurationVar(&c.timeout, "timeout", grade.DefaultTimeout, "stop an exercise still running after `D`")
	fs.DurationVar(&c.cpu, "cpu", luaapi.DefaultCPU, "stop an exercise that used `D` of CPU time")
	fs.Int64Var(&c.memoryMB, "memory", luaapi.DefaultMemory>>20, "stop an exercise that uses more than `MB`\nmegabytes of memory")
	c.quota.register(fs, "an exercise")
	fs.Var(&c.lib, "lib", "look for the exercises' modules (checks_NN.lua) in `DIR`\n(repeatable; before the hand-in's own folder)")
}

func (c *checkCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(c, args)
	if err != nil {
		return err
	}
	hint := "claimsctl check " + exercisesDir
	switch {
	case c.timeout <= 0:
		return &usageError{msg: fmt.Sprintf("--timeout must be above 0, got %s", c.timeout), hint: hint}
	case c.cpu < time.Second:
		return &usageError{msg: fmt.Sprintf("--cpu must be at least 1s, got %s", c.cpu), hint: hint}
	case c.memoryMB <= 0:
		return &usageError{msg: fmt.Sprintf("--memory must be above 0, got %d", c.memoryMB), hint: hint}
	case !slices.Contains(grade.Formats, c.format):
		return &usageError{msg: fmt.Sprintf("--format must be one of %s, got %q", strings.Join(grade.Formats, ", "), c.format), hint: hint + " --format junit -o report.xml"}
	}
	if err := c.quota.check(hint); err != nil {
		return err
	}
	if c.output != "" {
		if err := writableFile(c.output); err != nil {
			return &usageError{msg: "-o: " + err.Error(), hint: hint + " --format junit -o report.xml"}
		}
	}
	targets := fs.Args()
	if len(targets) == 0 {
		targets = []string{exercisesDir}
	}
	for i, t := range targets {
		if targets[i], _, err = labPath(c.env.cacheDir, t); err != nil {
			return err
		}
	}
	exercises, _, err := labPath(c.env.cacheDir, exercisesDir)
	if err != nil {
		return err
	}
	files, err := grade.Files(targets)
	if err != nil {
		return &usageError{msg: err.Error(), hint: hint}
	}
	base, err := grade.CommonDir(targets)
	if err != nil {
		return &usageError{msg: err.Error(), hint: hint}
	}
	backend, store, err := c.connect(ctx, c.env.stderr, redisconn.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	// stdout carries the table unless it carries another report: -v's
	// output then goes to stderr, out of the XML or JSON.
	tableOnStdout := c.output == "" && c.format == "table" || c.output != "" && c.format != "table"
	verbose := c.env.stderr
	if tableOnStdout {
		verbose = c.env.stdout
	}
	res, err := grade.Run(ctx, grade.Options{
		Store: store, Backend: backend.Description, Out: verbose, Err: c.env.stderr,
		Verbose: c.verbose, Timeout: c.timeout, Files: files, Lib: c.lib, Exercises: exercises, Base: base,
		Launcher: c.launcher(backend), Limits: luaapi.Limits{Memory: c.memoryMB << 20, CPU: c.cpu},
		Quota: c.quota.limits(),
	})
	// What was graded is reported even after Ctrl-C.
	if tableOnStdout {
		if werr := grade.WriteTable(c.env.stdout, res); werr != nil {
			return werr
		}
	}
	if c.output != "" {
		if werr := writeFileAtomically(c.output, 0o644, func(w io.Writer) error { return grade.WriteReport(w, c.format, res) }); werr != nil {
			return werr
		}
	} else if !tableOnStdout {
		if werr := grade.WriteReport(c.env.stdout, c.format, res); werr != nil {
			return werr
		}
	}
	switch {
	case err != nil:
		return err
	case res.Failed > 0:
		return &expectationsFailed{n: res.Failed, what: "check"}
	case res.Passed == 0:
		return fmt.Errorf("no check() ran in %s", strings.Join(targets, " "))
	}
	return nil
}

// writableFile checks, before anything is graded, that a report can be
// written to path: its folder exists and it is not a folder itself.
func writableFile(path string) error {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return fmt.Errorf("%s is a folder", path)
	}
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("the folder %s of %s does not exist", dir, path)
	}
	return nil
}

// writeFileAtomically writes path through a temporary file beside it, so
// a reader never sees half a report; the file gets mode once written
// (CreateTemp's 0600 until then).
func writeFileAtomically(path string, mode os.FileMode, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// dirList is a repeatable flag of folders that must exist.
type dirList []string

func (d *dirList) String() string { return strings.Join(*d, ",") }

func (d *dirList) Set(dir string) error {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	*d = append(*d, dir)
	return nil
}

// gradeFileCmd is grade.ChildCommand: one file graded in this process,
// which check started under limits; its outcome goes to stdout as JSON.
// It is not listed in claimsctl --help.
type gradeFileCmd struct {
	*base
	timeout time.Duration
	temp    string
	lib     dirList
	checks  stringList
	quota   quota.Limits
}

func (c *gradeFileCmd) doc() doc {
	return doc{name: grade.ChildCommand, args: "[flags] FILE.lua", about: "Grades one file for claimsctl check, in a child process."}
}

func (c *gradeFileCmd) flags(fs *flag.FlagSet) {
	fs.DurationVar(&c.timeout, "timeout", grade.DefaultTimeout, "stop the file after `D`")
	fs.StringVar(&c.temp, "temp", "", "the sandbox's temp folder `DIR`")
	fs.Var(&c.lib, "lib", "a folder of the exercise's modules `DIR`")
	fs.Var(&c.checks, "checks", "the require `NAME` of one of the exercise's checks modules")
	fs.Int64Var(&c.quota.Bytes, "redis-quota", 0, "stop the file when its keys hold more than `BYTES` (0: no limit)")
	fs.Int64Var(&c.quota.Keys, "redis-keys", 0, "stop the file when it has more than `N` keys (0: no limit)")
}

func (c *gradeFileCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(c, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 || c.temp == "" {
		return &usageError{msg: grade.ChildCommand + " needs --temp DIR and one file", hint: "claimsctl check FILE.lua"}
	}
	// Its parent holds stdin open: when it closes, the parent is gone.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, c.env.stdin)
		cancel()
	}()
	backend, store, err := c.connect(ctx, io.Discard, redisconn.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	// The client side of the quota: every write the file makes, through
	// any primitive or worker, goes through this connection.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	guard := quota.New(store.Client(), store.Keys().Prefix, c.quota, stop)
	if err := guard.Start(ctx); err != nil {
		return err
	}
	store.Client().AddHook(guard.Hook())
	report := os.NewFile(grade.ReportFD, "report")
	if report == nil {
		return fmt.Errorf("%s writes its report to file descriptor %d, which is not open", grade.ChildCommand, grade.ReportFD)
	}
	defer report.Close()
	res := grade.Grade(ctx, grade.Job{Store: store, Backend: backend.Description, File: fs.Arg(0),
		Lib: c.lib, TempDir: c.temp, Timeout: c.timeout, Checks: c.checks})
	if err := guard.Err(); err != nil {
		res.Error, res.ChecksError = err.Error(), ""
	}
	return json.NewEncoder(report).Encode(res)
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}
