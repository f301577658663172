package upkeep

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// BenchmarkTrimArchiveImport trims every entry of a stream of N small
// events with an archive file, then imports the file back, on a real
// redis-server. It reports the Go heap's peak above where it started
// (HeapInuse, sampled) and the process's peak RSS: both stay flat however
// large N is, as the plan, the archive and the import go a page or a
// chunk at a time. N is TRIM_BENCH_ENTRIES (default 20000):
//
//	TRIM_BENCH_ENTRIES=1000000 go test ./streams/upkeep -run '^$' -bench TrimArchiveImport -benchtime 1x
func BenchmarkTrimArchiveImport(b *testing.B) {
	n := 20000
	if v := os.Getenv("TRIM_BENCH_ENTRIES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err, "TRIM_BENCH_ENTRIES")
	}
	ctx := context.Background()
	s := streamstest.Redis(b)(b, streams.Options{})
	var peak uint64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		key := s.Keys().Events()
		require.NoError(b, s.Client().Del(ctx, key).Err())
		fillEvents(b, s, key, n)
		path := filepath.Join(b.TempDir(), fmt.Sprintf("archive-%d.jsonl", i))
		runtime.GC()
		sample := sampleHeap()
		b.StartTimer()

		none := int64(0)
		plan, err := PlanTrim(ctx, s, claims.TrimOptions{MaxLen: &none})
		require.NoError(b, err)
		res, err := Trim(ctx, s, plan, TrimExec{Force: true, Archive: func(map[string]string) (Archiver, error) { return createArchive(path) }})
		require.NoError(b, err)
		require.EqualValues(b, n, res.Total())
		f, err := os.Open(path)
		require.NoError(b, err)
		imported, err := Import(ctx, s, f, ImportOptions{})
		f.Close()
		require.NoError(b, err)
		require.EqualValues(b, n, imported.Imported)

		b.StopTimer()
		peak = max(peak, sample())
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
	}
	b.ReportMetric(float64(n), "entries")
}

// fillEvents appends n claim-shaped entries to key, pipelined.
func fillEvents(b *testing.B, s *streams.Store, key string, n int) {
	b.Helper()
	ctx := context.Background()
	at := time.Now().UTC().Format(claims.TimeLayout)
	const chunk = 5000
	for start := 0; start < n; start += chunk {
		pipe := s.Client().Pipeline()
		for i := start; i < min(start+chunk, n); i++ {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{
				"type", "claim.submitted", "claim_id", fmt.Sprintf("claim-%07d", i), "version", "1",
				"event_id", fmt.Sprintf("ev-%07d", i), "occurred_at", at, "actor", "bench", "data", `{"amount":100}`, "schema", "1",
			}})
		}
		_, err := pipe.Exec(ctx)
		require.NoError(b, err)
	}
}

// sampleHeap samples HeapInuse every few milliseconds until the returned
// function is called, which gives the peak above the first sample.
func sampleHeap() (stop func() uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak - base
	}
}

// peakRSS is the process's resident high-water mark (VmHWM), 0 when the
// system does not say.
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// fileArchive is a trim's archive on disk, as the Lua API writes it
// (luaapi's appends to an existing file and checks its last line).
type fileArchive struct{ f *os.File }

func createArchive(path string) (Archiver, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &fileArchive{f: f}, nil
}

func (a *fileArchive) Append(page []claims.ArchiveEntry) error { return claims.WriteArchive(a.f, page) }

func (a *fileArchive) Commit() error {
	if err := a.f.Sync(); err != nil {
		return err
	}
	return a.f.Close()
}

func (a *fileArchive) Abort() {
	_ = a.f.Close()
	_ = os.Remove(a.f.Name())
}
