package grade

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Formats are the reports WriteReport writes.
var Formats = []string{"table", "junit", "json"}

// WriteReport writes res in format: "table", "junit" or "json".
func WriteReport(w io.Writer, format string, res Result) error {
	switch format {
	case "table":
		return WriteTable(w, res)
	case "junit":
		return WriteJUnit(w, res)
	case "json":
		return WriteJSON(w, res)
	}
	return fmt.Errorf("no report format %q: %s", format, strings.Join(Formats, ", "))
}

// WriteTable writes the rows in columns, each file's name once, and a
// total line.
func WriteTable(w io.Writer, res Result) error {
	fileWidth, checkWidth := len("exercise"), len("check")
	for _, r := range res.Rows {
		fileWidth = max(fileWidth, len(r.File))
		checkWidth = max(checkWidth, len(r.Check))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-*s  %s\n", fileWidth, "exercise", checkWidth, "check", "result")
	last := ""
	for _, r := range res.Rows {
		file := r.File
		if file == last {
			file = ""
		}
		last = r.File
		line := fmt.Sprintf("%-*s  %-*s  %s", fileWidth, file, checkWidth, r.Check, r.Result)
		if r.Detail != "" {
			line += "  " + r.Detail
		}
		fmt.Fprintln(&b, line)
	}
	fmt.Fprintf(&b, "%d passed, %d failed\n", res.Passed, res.Failed)
	_, err := io.WriteString(w, b.String())
	return err
}

// JUnit XML as CI test report parsers read it (Jenkins, GitLab, GitHub
// actions): one testsuite per file, one testcase per row, failure or
// error elements for what did not pass.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      string      `xml:"time,attr"`
	Cases     []junitCase `xml:"testcase"`
	SystemOut string      `xml:"system-out,omitempty"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes res as JUnit XML.
func WriteJUnit(w io.Writer, res Result) error {
	doc := junitSuites{Name: "claimsctl check"}
	for _, f := range res.Files {
		s := junitSuite{Name: f.Name, Time: fmt.Sprintf("%.3f", f.Duration.Seconds()), SystemOut: xmlText(f.Output)}
		for _, r := range f.Rows {
			c := junitCase{Name: r.Check, Classname: f.Name}
			problem := &junitProblem{Message: xmlText(r.Detail), Type: r.Result, Text: xmlText(r.Detail)}
			switch r.Result {
			case "pass":
			case "ERROR":
				c.Error = problem
				s.Errors++
			default:
				c.Failure = problem
				s.Failures++
			}
			s.Cases = append(s.Cases, c)
			s.Tests++
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Suites = append(doc.Suites, s)
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s%s\n", xml.Header, out)
	return err
}

// xmlText drops what XML 1.0 cannot hold at all (most control
// characters, which a script may print): encoding/xml escapes the rest.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t', r == '\n', r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return -1
		}
		return r
	}, s)
}

// The JSON report has the shape of Gradescope's results.json: a score
// out of max_score, and tests with their own; each row scores 1 point
// of 1 when it passes. files adds the same per file.
type jsonReport struct {
	Score    int        `json:"score"`
	MaxScore int        `json:"max_score"`
	Output   string     `json:"output"`
	Files    []jsonFile `json:"files"`
	Tests    []jsonTest `json:"tests"`
}

type jsonFile struct {
	File     string  `json:"file"`
	Score    int     `json:"score"`
	MaxScore int     `json:"max_score"`
	Status   string  `json:"status"`
	Output   string  `json:"output"`
	Seconds  float64 `json:"seconds"`
}

type jsonTest struct {
	Name     string `json:"name"`
	File     string `json:"file"`
	Check    string `json:"check"`
	Score    int    `json:"score"`
	MaxScore int    `json:"max_score"`
	Status   string `json:"status"` // passed or failed, as Gradescope reads it
	Result   string `json:"result"` // the table's: pass, FAIL or ERROR
	Output   string `json:"output"`
}

// WriteJSON writes res as a results.json.
func WriteJSON(w io.Writer, res Result) error {
	rep := jsonReport{Output: fmt.Sprintf("%d passed, %d failed", res.Passed, res.Failed), Files: []jsonFile{}, Tests: []jsonTest{}}
	for _, f := range res.Files {
		jf := jsonFile{File: f.Name, Output: f.Output, Seconds: f.Duration.Seconds(), Status: "passed"}
		for _, r := range f.Rows {
			t := jsonTest{Name: f.Name + ": " + r.Check, File: f.Name, Check: r.Check, MaxScore: 1,
				Status: "failed", Result: r.Result, Output: r.Detail}
			if r.Result == "pass" {
				t.Score, t.Status = 1, "passed"
			} else {
				jf.Status = "failed"
			}
			jf.Score += t.Score
			jf.MaxScore += t.MaxScore
			rep.Tests = append(rep.Tests, t)
		}
		rep.Score += jf.Score
		rep.MaxScore += jf.MaxScore
		rep.Files = append(rep.Files, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
