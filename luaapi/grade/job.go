package grade

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"claimsctl/luaapi"
	"claimsctl/streams"
	"claimsctl/streams/quota"
)

// Grading one file in a child process of its own (ChildCommand), with its
// output capped and its time bounded.

// Job is one file to grade in one process.
type Job struct {
	Store   *streams.Store // the file's own keyspace
	Backend string
	File    string
	Lib     []string // luaapi.Sandbox.Lib
	TempDir string   // luaapi.Sandbox.TempDir
	Timeout time.Duration
	// Checks are the require names of the exercise's checks modules; none:
	// those the file requires.
	Checks []string
	Quota  quota.Limits
}

// Outcome is what grading one file found; a child process reports it as
// JSON.
type Outcome struct {
	Checks       []luaapi.CheckResult
	Outside      int    // failed expectations outside any check
	FirstOutside string // the first of them
	Escapes      []string
	Error        string // the script's error, or why it was stopped
	ChecksError  string // why the exercise's checks stopped
	NoChecks     bool   // no checks module grades the file
	Output       string // what it printed, cut at maxOutput
}

// maxOutput is how much of an exercise's output is kept (-v shows it).
const maxOutput = 64 << 10

// Grade runs one file in this process, in the Lua sandbox, and then its
// exercise's checks in a Lua state of their own (luaapi.HandIn): what the
// child process of ChildCommand does.
func Grade(ctx context.Context, j Job) Outcome {
	out := &capped{max: maxOutput}
	h := luaapi.NewHandIn(luaapi.Config{Store: j.Store, Out: out, Backend: j.Backend,
		Sandbox: &luaapi.Sandbox{Dir: filepath.Dir(j.File), Lib: j.Lib, TempDir: j.TempDir}})
	fileCtx, cancel := context.WithTimeout(ctx, j.Timeout)
	hr := h.Run(fileCtx, j.File, j.Checks)
	timedOut := fileCtx.Err() == context.DeadlineExceeded
	cancel()
	h.Close()
	res := Outcome{Checks: hr.Checks, Outside: hr.Outside, FirstOutside: hr.FirstOutside, Escapes: hr.Escapes,
		Error: hr.ScriptError, ChecksError: hr.ChecksError, NoChecks: hr.NoChecks}
	if timedOut {
		res.Error, res.ChecksError = timeoutMessage(j.Timeout), ""
	}
	res.Output = out.String()
	return res
}

func timeoutMessage(d time.Duration) string {
	return fmt.Sprintf("stopped after %s: an endless loop? (claimsctl check --timeout sets the limit)", d)
}

// inChild grades the job in a child claimsctl under the limits, in this
// process's folder (the file's name reads as given in messages). The child
// stops itself at the timeout; KillGrace later it is stopped.
func inChild(ctx context.Context, o Options, j Job) Outcome {
	args := []string{ChildCommand, "--prefix", j.Store.Keys().Prefix, "--timeout", j.Timeout.String(), "--temp", j.TempDir}
	for _, l := range j.Lib {
		args = append(args, "--lib", l)
	}
	for _, c := range j.Checks {
		args = append(args, "--checks", c)
	}
	args = append(args, "--redis-quota", strconv.FormatInt(j.Quota.Bytes, 10), "--redis-keys", strconv.FormatInt(j.Quota.Keys, 10))
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return Outcome{Error: fmt.Sprintf("a pipe for the grader's report: %v", err)}
	}
	child, err := o.Launcher.Start(luaapi.ChildOptions{
		Args: append(args, j.File), Limits: o.Limits, Wall: j.Timeout + luaapi.KillGrace,
		Env: []string{"TMPDIR=" + j.TempDir}, ExtraFiles: []*os.File{reportW},
	})
	reportW.Close() // the child holds its end: EOF when it exits
	if err != nil {
		reportR.Close()
		return Outcome{Error: err.Error()}
	}
	report := &capped{max: 4 * maxOutput}
	read := make(chan struct{})
	go func() {
		defer close(read)
		_, _ = io.Copy(report, reportR)
		reportR.Close()
	}()
	select {
	case <-child.Done():
	case <-ctx.Done():
		child.Stop()
	}
	<-read
	var res Outcome
	decodeErr := json.Unmarshal([]byte(report.String()), &res)
	var stopped *luaapi.ChildError
	switch err := child.Err(); {
	case errors.As(err, &stopped) && stopped.Limit == luaapi.LimitTime:
		res.Error = timeoutMessage(j.Timeout)
	case err != nil:
		res.Error = err.Error()
	case decodeErr != nil:
		res.Error = fmt.Sprintf("its grader stopped without a report: %v", decodeErr)
	}
	return res
}

// capped keeps the first max bytes written to it.
type capped struct {
	buf bytes.Buffer
	max int
	cut bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room < len(p) {
		c.buf.Write(p[:max(room, 0)])
		c.cut = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

func (c *capped) String() string {
	if c.cut {
		return c.buf.String() + fmt.Sprintf("\n... (cut at %d KB)\n", c.max>>10)
	}
	return c.buf.String()
}
