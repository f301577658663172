package luaapi

import "sync"

// CheckResult is one named check of an exercise.
type CheckResult struct {
	Name    string
	Passed  bool
	Message string // first failed expectation or the error
	Errored bool
}

// expectations records what expect() and check() found: `claimsctl run`'s
// exit code and `claimsctl check`'s table are read from it.
type expectations struct {
	mu           sync.Mutex
	checks       []CheckResult
	failed       int    // failed expectations, in checks or not
	outside      int    // failed expectations outside any check
	firstOutside string // the first of them, with its line
	active       *CheckResult
}

// fail records a failed expectation at where (file:line): against the
// running check, or outside any.
func (x *expectations) fail(where, msg string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.failed++
	if x.active == nil {
		x.outside++
		if x.firstOutside == "" {
			x.firstOutside = where + ": " + msg
		}
		return
	}
	if x.active.Passed {
		x.active.Passed = false
		x.active.Message = msg
	}
}

// enter makes res the check that failed expectations count against and
// returns the one it was inside of: checks nest, and leave restores it.
func (x *expectations) enter(res *CheckResult) (outer *CheckResult) {
	x.mu.Lock()
	defer x.mu.Unlock()
	outer, x.active = x.active, res
	return outer
}

func (x *expectations) leave(outer *CheckResult) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.active = outer
}

// record adds a finished check; one that raised an error counts as a
// failed expectation.
func (x *expectations) record(res CheckResult) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if res.Errored {
		x.failed++
	}
	x.checks = append(x.checks, res)
}

// Failed is how many expectations failed so far.
func (r *Runtime) Failed() int {
	r.exp.mu.Lock()
	defer r.exp.mu.Unlock()
	return r.exp.failed
}

// FailedOutsideChecks is how many expectations failed outside any
// check(), and the first one's line and message.
func (r *Runtime) FailedOutsideChecks() (int, string) {
	r.exp.mu.Lock()
	defer r.exp.mu.Unlock()
	return r.exp.outside, r.exp.firstOutside
}

// Checks returns the named checks recorded so far.
func (r *Runtime) Checks() []CheckResult {
	r.exp.mu.Lock()
	defer r.exp.mu.Unlock()
	return append([]CheckResult(nil), r.exp.checks...)
}
