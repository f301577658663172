package grade

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleResult has a pass, a FAIL and an ERROR in two files, and output
// with what XML cannot hold.
func sampleResult() Result {
	a := FileResult{Name: "alice/01.lua", Duration: 1500 * time.Millisecond, Output: "ok <a> & \x1b[31mred\x00\n", Rows: []Row{
		{"alice/01.lua", "flags the claims", "pass", ""},
		{"alice/01.lua", "acks everything", "FAIL", `want 0 pending, got 3 <"quoted"> & more`},
	}}
	b := FileResult{Name: "bob/01.lua", Rows: []Row{{"bob/01.lua", "(script)", "ERROR", "bob/01.lua:3: boom"}}}
	return Result{Files: []FileResult{a, b}, Rows: append(append([]Row{}, a.Rows...), b.Rows...), Passed: 1, Failed: 2}
}

func TestWriteJUnit(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, WriteJUnit(&out, sampleResult()))

	var doc junitSuites
	require.NoError(t, xml.Unmarshal(out.Bytes(), &doc), out.String())
	assert.Equal(t, 3, doc.Tests)
	assert.Equal(t, 1, doc.Failures)
	assert.Equal(t, 1, doc.Errors)
	require.Len(t, doc.Suites, 2, "a testsuite per file")
	alice := doc.Suites[0]
	assert.Equal(t, "alice/01.lua", alice.Name)
	assert.Equal(t, "1.500", alice.Time)
	assert.Equal(t, "ok <a> & [31mred\n", alice.SystemOut, "control characters dropped, the rest escaped and back")
	require.Len(t, alice.Cases, 2, "a testcase per check")
	assert.Equal(t, "flags the claims", alice.Cases[0].Name)
	assert.Nil(t, alice.Cases[0].Failure)
	assert.Nil(t, alice.Cases[0].Error)
	require.NotNil(t, alice.Cases[1].Failure)
	assert.Equal(t, `want 0 pending, got 3 <"quoted"> & more`, alice.Cases[1].Failure.Message)
	require.NotNil(t, doc.Suites[1].Cases[0].Error)
	assert.Equal(t, "bob/01.lua:3: boom", doc.Suites[1].Cases[0].Error.Message)

	// A parser other than Go's reads it too, where python3 is installed.
	if py, err := exec.LookPath("python3"); err == nil {
		file := filepath.Join(t.TempDir(), "report.xml")
		require.NoError(t, os.WriteFile(file, out.Bytes(), 0o644))
		got, err := exec.Command(py, "-c", `import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for s in root.iter("testsuite"):
    for c in s.iter("testcase"):
        kind = "failure" if c.find("failure") is not None else "error" if c.find("error") is not None else "pass"
        print(s.get("name"), "|", c.get("name"), "|", kind)`, file).CombinedOutput()
		require.NoError(t, err, string(got))
		assert.Equal(t, "alice/01.lua | flags the claims | pass\nalice/01.lua | acks everything | failure\nbob/01.lua | (script) | error\n", string(got))
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, WriteJSON(&out, sampleResult()))
	var rep struct {
		Score    int `json:"score"`
		MaxScore int `json:"max_score"`
		Files    []struct {
			File     string `json:"file"`
			Score    int    `json:"score"`
			MaxScore int    `json:"max_score"`
			Status   string `json:"status"`
		} `json:"files"`
		Tests []struct {
			Name     string `json:"name"`
			Score    int    `json:"score"`
			MaxScore int    `json:"max_score"`
			Status   string `json:"status"`
			Output   string `json:"output"`
		} `json:"tests"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	assert.Equal(t, 1, rep.Score)
	assert.Equal(t, 3, rep.MaxScore)
	require.Len(t, rep.Files, 2)
	assert.Equal(t, "alice/01.lua", rep.Files[0].File)
	assert.Equal(t, []int{1, 2, 0, 1}, []int{rep.Files[0].Score, rep.Files[0].MaxScore, rep.Files[1].Score, rep.Files[1].MaxScore})
	assert.Equal(t, "failed", rep.Files[0].Status)
	require.Len(t, rep.Tests, 3)
	assert.Equal(t, "alice/01.lua: flags the claims", rep.Tests[0].Name)
	assert.Equal(t, []string{"passed", "failed", "failed"}, []string{rep.Tests[0].Status, rep.Tests[1].Status, rep.Tests[2].Status})
	assert.Equal(t, "bob/01.lua:3: boom", rep.Tests[2].Output)
}

func TestCommonDirNamesRows(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	sol := filepath.Join(root, "solutions")
	require.NoError(t, os.MkdirAll(sol, 0o755))
	file := filepath.Join(sol, "01.lua")
	require.NoError(t, os.WriteFile(file, nil, 0o644))

	base, err := CommonDir([]string{root, sol})
	require.NoError(t, err)
	assert.Equal(t, root, base)
	assert.Equal(t, "solutions/01.lua", displayName(file, base))
	assert.Equal(t, "01.lua", displayName(filepath.Join(root, "01.lua"), base))

	base, err = CommonDir([]string{file})
	require.NoError(t, err)
	assert.Equal(t, sol, base, "a file's folder")
	assert.Equal(t, "01.lua", displayName(file, base))
}
