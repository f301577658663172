package main

import (
	"regexp"
	"strings"
	"testing"

	"claimsctl/streams/redistest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byHand is what a student types after the processor (another terminal)
// took a claim: submit, wait for its decision (wait given as Lua), start
// the investigation, then print the command's claim and claim()'s.
func byHand(wait string) string {
	return strings.Join([]string{
		`c = submit{customer="CUST-0001", policy="POL-0001", amount=1000, type="auto", incident_date="2026-11-20", description="by hand"}`,
		wait,
		`r = investigate(c.id, {phase="started"})`,
		`now = claim(c.id)`,
		`fields = {"status", "version", "customer_id", "policy_id", "claim_type", "incident_date", "description", "adjuster", "submitted_at", "updated_at"}`,
		`for _, k in ipairs(fields) do print(("got %s=%s"):format(k, tostring(r[k]))); print(("want %s=%s"):format(k, tostring(now[k]))) end`,
	}, "\n") + "\n"
}

// TestACommandByHandAfterAWorkerInAnotherProcess: `claimsctl worker
// processor` in one terminal assigns the claims; a command typed in
// another (-e, the REPL) on a claim it assigned is checked against the
// assignment and returns the claim as claim() does.
func TestACommandByHandAfterAWorkerInAnotherProcess(t *testing.T) {
	t.Parallel()
	servers := map[string]func(t *testing.T) string{
		"redis": func(t *testing.T) string { return redistest.Start(t).URL() },
		"serve": startServe,
	}
	// Poll the status (what a student does), or wait for the group.
	waits := map[string]string{
		"-e":   `local deadline = os.time() + 30; while claim(c.id).status == "submitted" do if os.time() > deadline then error("the processor did not decide") end; sleep(20) end`,
		"repl": `wait_idle("processors")`,
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conn := redisAt(start(t))
			setup := claimsctl(t, "", nil, append(conn, "-e", "sample_data{}")...)
			require.Equal(t, 0, setup.code, setup.stderr)
			workerProcess(t, conn, "processor", "processor-"+name)
			for how, wait := range waits {
				var r result
				if how == "-e" {
					r = claimsctl(t, "", nil, append(conn, "-e", strings.ReplaceAll(byHand(wait), "\n", "; "))...)
				} else {
					r = claimsctl(t, byHand(wait), nil, conn...)
				}
				require.Equal(t, 0, r.code, "%s: stdout:\n%s\nstderr:\n%s", how, r.stdout, r.stderr)
				require.NotContains(t, r.stdout, "error:", how)
				got, want := fieldLines(r.stdout, "got"), fieldLines(r.stdout, "want")
				require.Len(t, want, 10, "%s: stdout:\n%s", how, r.stdout)
				assert.Equal(t, want, got, "%s: the command's claim is claim()'s", how)
				assert.Equal(t, "investigating", got["status"], how)
				assert.Equal(t, "3", got["version"], how)
				for _, k := range []string{"customer_id", "policy_id", "claim_type", "adjuster"} {
					assert.NotEmpty(t, got[k], "%s: %s", how, k)
				}
				assert.NotContains(t, got["submitted_at"], "0001-01-01", how)
			}
		})
	}
}

var fieldLine = regexp.MustCompile(`(?m)^(got|want) (\w+)=(.*)$`)

// fieldLines are the key=value lines byHand printed with prefix which.
func fieldLines(out, which string) map[string]string {
	m := map[string]string{}
	for _, l := range fieldLine.FindAllStringSubmatch(out, -1) {
		if l[1] == which {
			m[l[2]] = l[3]
		}
	}
	return m
}
