package claims

import (
	"errors"
	"fmt"
	"strings"
)

// The sentinel errors callers branch on (errors.Is). Every error of this
// package wraps one of them.
var (
	// ErrInvalid is wrapped by every refused input (a validation error), so
	// callers can tell it from a Redis failure.
	ErrInvalid = errors.New("invalid")
	// ErrInvalidTransition: the claim's status does not allow the event.
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrConflict: the claim moved on since it was read (optimistic concurrency).
	ErrConflict = errors.New("version conflict")
	// ErrNotFound: no such claim, dead letter or trail.
	ErrNotFound = errors.New("not found")
	// ErrOutOfOrder: a projection received a claim's event before the one
	// preceding it (two consumers share a group, or the predecessor is
	// pending elsewhere); it is retried, not dead-lettered.
	ErrOutOfOrder = errors.New("event arrived before its predecessor")
	// ErrTrimRefused: a confirmed trim would take entries some group still
	// has pending or has not read, without force.
	ErrTrimRefused = errors.New("trim refused")
	// ErrNotWritten: a stream entry that looks like a claim event but was
	// not written by the event store (another tool's XADD, a forged or
	// replayed event): it never counts.
	ErrNotWritten = errors.New("not written by the event store")
	// ErrUnreachable: an explicitly named Redis does not answer.
	ErrUnreachable = errors.New("cannot reach Redis")
)

// ValidationError names the event type (none for a rule all events share,
// such as the claim id's), the field and the rule it broke.
type ValidationError struct {
	Type  EventType
	Field string
	Rule  string
}

func (e *ValidationError) Error() string {
	switch {
	case e.Type == "":
		return fmt.Sprintf("%s %s (nothing written)", e.Field, e.Rule)
	case e.Field == "":
		return fmt.Sprintf("%s %s (nothing written)", e.Type, e.Rule)
	}
	return fmt.Sprintf("%s: %s %s (nothing written)", e.Type, e.Field, e.Rule)
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// NameError is a group or consumer name that breaks NameRule.
type NameError struct {
	What string // "group", "consumer"
	Name string
	Rule string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("%s name %s %s", e.What, Quote(e.Name), e.Rule)
}

// Unwrap makes a bad name an ErrInvalid.
func (e *NameError) Unwrap() error { return ErrInvalid }

// TransitionError says which event the claim's status does not allow.
type TransitionError struct {
	ClaimID string
	From    Status
	Event   EventType
	Need    string // the statuses that would allow it, in words
}

func (e *TransitionError) Error() string {
	if e.From.Final() {
		return fmt.Sprintf("claim is %s, which is final; no %s can follow (nothing written)", e.From, e.Event)
	}
	return fmt.Sprintf("claim is %s; %s needs %s (nothing written)", e.From, e.Event, e.Need)
}

func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// ConflictError is a lost race: the claim moved on since it was read.
type ConflictError struct {
	ClaimID  string
	Expected int64
	Actual   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("claim is at version %d, not the expected %d: someone else changed it first (nothing written)", e.Actual, e.Expected)
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// MalformedError says why a stream entry is not a claim event, e.g. one
// written by hand with redis-cli. Workers send such entries to the DLQ.
type MalformedError struct {
	ID     string
	Reason string
	// NotWritten: a well-formed entry the event store did not write
	// (ErrNotWritten); otherwise it does not follow the wire format.
	NotWritten bool
	// UnknownClaim: not written, because the store has no record of its
	// claim at all (rebuild, restoring lost records, folds such entries).
	UnknownClaim bool
}

func (e *MalformedError) Error() string {
	if e.NotWritten {
		return fmt.Sprintf("entry %s is not an event the store wrote: %s", e.ID, e.Reason)
	}
	return fmt.Sprintf("entry %s is not a claim event: %s", e.ID, e.Reason)
}

// Unwrap makes an entry the store did not write an ErrNotWritten.
func (e *MalformedError) Unwrap() error {
	if e.NotWritten {
		return ErrNotWritten
	}
	return nil
}

// TrimRefusedError names, per stream, the groups that would lose work.
type TrimRefusedError struct {
	Streams    []*StreamTrim // the streams some group would lose entries of
	Partitions int           // how many streams the trim covers
}

func (e *TrimRefusedError) Error() string {
	if len(e.Streams) > 1 {
		// One clause per group, summed over the partitions (see
		// groupWarnings); the plan printed before names each stream.
		return fmt.Sprintf("trim refused: %s; consume and ack them first, or trim with force=true (nothing removed)",
			strings.Join(groupWarnings(e.Streams, e.Partitions), "; "))
	}
	var parts []string
	for _, st := range e.Streams {
		groups := st.AtRisk()
		words := make([]string, len(groups))
		for i, g := range groups {
			words[i] = fmt.Sprintf("group %s still has %s", g.Group, riskWords(g))
		}
		part := fmt.Sprintf("%s of the %d entries to remove", strings.Join(words, "; "), st.Count)
		if len(e.Streams) > 1 {
			part = "in " + st.Stream + ", " + part
		}
		parts = append(parts, part)
	}
	what := "trim"
	if len(e.Streams) == 1 {
		what += " " + e.Streams[0].Stream
	}
	return fmt.Sprintf("%s refused: %s; consume and ack them first, or trim with force=true (nothing removed)", what, strings.Join(parts, "; "))
}

// Unwrap makes the refusal an ErrTrimRefused.
func (e *TrimRefusedError) Unwrap() error { return ErrTrimRefused }

// ImportConflictError is an import whose target stream already has an
// entry at or after the first archived one: XADD only appends, so the
// archived ids cannot go back in there.
type ImportConflictError struct {
	Stream   string
	Existing string // the target's entry (or last generated id) in the way
	Archived string // the first archived id
	Trimmed  bool   // Existing is a last-generated-id, no longer an entry
}

func (e *ImportConflictError) Error() string {
	if e.Trimmed {
		return fmt.Sprintf("%s has already handed out ids up to %s, at or after the archived %s, and cannot be rewound", e.Stream, e.Existing, e.Archived)
	}
	return fmt.Sprintf("%s already has entry %s at or after the archived %s: entries only append, so the archive cannot go back in with its original ids", e.Stream, e.Existing, e.Archived)
}

// ArchiveLineError is a line of an archive that is not an entry.
type ArchiveLineError struct {
	Line   int // 0 when not known
	Reason string
}

func (e *ArchiveLineError) Error() string {
	if e.Line == 0 { // the last line, read from the end of the file
		return e.Reason
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Unwrap makes a bad line an ErrInvalid.
func (e *ArchiveLineError) Unwrap() error { return ErrInvalid }
