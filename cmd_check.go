package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"claimsctl/luaapi"
	"claimsctl/luaapi/grade"
	"claimsctl/streams"
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
}

// exercisesDir is what check grades when given no files, and where a
// hand-in named like an exercise finds that exercise's lib/.
const exercisesDir = "scripts/exercises"

func (c *checkCmd) doc() doc {
	return doc{name: "check", args: "[flags] [FILE.lua|DIR ...]", summary: "grade exercises: a pass/fail table, exit 3 on any failure",
		about: "Grades exercises: runs each file (a DIR stands for the .lua files in it;\n" +
			"default " + exercisesDir + ") on a clean keyspace of its own, prints a pass/fail\n" +
			"table of their check() calls, and exits 3 if any failed.\n\n" +
			"Each file runs in a sandbox, in a process of its own: no os.execute, files\n" +
			"written only in a temp folder, Lua loaded only from the file's folder and\n" +
			"the exercise's lib/, and the limits below. A hand-in named like a file of\n" +
			exercisesDir + " uses its lib/; --lib names other module folders."}
}

func (c *checkCmd) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.verbose, "v", false, "show each exercise's output")
	fs.DurationVar(&c.timeout, "timeout", grade.DefaultTimeout, "stop an exercise still running after `D`")
	fs.DurationVar(&c.cpu, "cpu", luaapi.DefaultCPU, "stop an exercise that used `D` of CPU time")
	fs.Int64Var(&c.memoryMB, "memory", luaapi.DefaultMemory>>20, "stop an exercise that uses more than `MB`\nmegabytes of memory")
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
	}
	targets := fs.Args()
	if len(targets) == 0 {
		targets = []string{exercisesDir}
	}
	files, err := grade.Files(targets)
	if err != nil {
		return &usageError{msg: err.Error(), hint: hint}
	}
	backend, store, err := c.connect(ctx, c.env.stderr, streams.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	res, err := grade.Run(ctx, grade.Options{
		Store: store, Backend: backend.Description, Out: c.env.stdout, Err: c.env.stderr,
		Verbose: c.verbose, Timeout: c.timeout, Files: files, Lib: c.lib, Exercises: exercisesDir,
		Launcher: c.launcher(backend), Limits: luaapi.Limits{Memory: c.memoryMB << 20, CPU: c.cpu},
	})
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
}

func (c *gradeFileCmd) doc() doc {
	return doc{name: grade.ChildCommand, args: "[flags] FILE.lua", about: "Grades one file for claimsctl check, in a child process."}
}

func (c *gradeFileCmd) flags(fs *flag.FlagSet) {
	fs.DurationVar(&c.timeout, "timeout", grade.DefaultTimeout, "stop the file after `D`")
	fs.StringVar(&c.temp, "temp", "", "the sandbox's temp folder `DIR`")
	fs.Var(&c.lib, "lib", "a folder of the exercise's modules `DIR`")
	fs.Var(&c.checks, "checks", "the require `NAME` of one of the exercise's checks modules")
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
	backend, store, err := c.connect(ctx, io.Discard, streams.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	report := os.NewFile(grade.ReportFD, "report")
	if report == nil {
		return fmt.Errorf("%s writes its report to file descriptor %d, which is not open", grade.ChildCommand, grade.ReportFD)
	}
	defer report.Close()
	res := grade.Grade(ctx, grade.Job{Store: store, Backend: backend.Description, File: fs.Arg(0),
		Lib: c.lib, TempDir: c.temp, Timeout: c.timeout, Checks: c.checks})
	return json.NewEncoder(report).Encode(res)
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}
