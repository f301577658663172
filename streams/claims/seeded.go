package claims

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
)

// LabEpoch is where the clock of a seeded run starts: a Monday morning of
// the lab, the same for every seed, so dates in a handout stay true.
var LabEpoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Seeded is what makes a lab run repeat itself (claimsctl --seed N): the
// uuids of claims and events come from a generator seeded with N, and time
// is a logical clock from LabEpoch that moves a millisecond each time it
// is read (and as far as the run sleeps), not with the wall clock. Two
// runs that do the same things in the same order get the same ids and
// times. It is safe for concurrent use, but only a run that reads it in a
// fixed order repeats.
type Seeded struct {
	seed int64
	mu   sync.Mutex
	ids  *rand.ChaCha8
	now  time.Time
}

// NewSeeded starts the ids and the clock of seed.
func NewSeeded(seed int64) *Seeded {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], uint64(seed))
	copy(key[8:], "claimsctl lab run")
	return &Seeded{seed: seed, ids: rand.NewChaCha8(key), now: LabEpoch}
}

// Seed is the run's seed (the default of sample_data's and sample_claims').
func (s *Seeded) Seed() int64 { return s.seed }

// NewID is the next uuid (version 4, as a random one).
func (s *Seeded) NewID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := uuid.NewRandomFromReader(s.ids)
	if err != nil {
		panic("claims: seeded uuid: " + err.Error()) // ChaCha8 never fails to read
	}
	return id.String()
}

// Now is the clock's time; the clock then moves on a millisecond, so
// every reading (an event's occurred_at, its entry id) is later than the
// one before.
func (s *Seeded) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.now
	s.now = s.now.Add(time.Millisecond)
	return t
}

// Advance moves the clock on by d (a sleep of the run).
func (s *Seeded) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}
