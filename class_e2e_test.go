package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adminPassword guards the servers of the class tests: it must appear in
// nothing class prints or writes.
const adminPassword = "admin-S3cret-Pw"

// TestClassSideBySide is a class of three on one redis-server and on a
// cluster (with replicas), as the README runs it: class add with the
// admin's URL writes each student's URL; each student, with only that
// URL in REDIS_URL, runs the lab's steps at the same time as the others,
// and every step passes under the student's own prefix; a student cannot
// read another's keys nor run an admin command through claimsctl; class
// remove ends a student's access.
func TestClassSideBySide(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		start func(t *testing.T) (addr string, admin redis.UniversalClient)
	}{
		"redis": {
			start: func(t *testing.T) (string, redis.UniversalClient) {
				srv := redistest.Start(t)
				requirePassword(t, srv.Addr())
				return srv.Addr(), redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: adminPassword})
			},
		},
		"cluster": {
			start: func(t *testing.T) (string, redis.UniversalClient) {
				c := redistest.StartCluster(t, 3, 1)
				for _, addr := range c.Addrs() {
					requirePassword(t, addr)
				}
				return c.Seeds()[0], redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds(), Password: adminPassword})
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr, admin := tc.start(t)
			t.Cleanup(func() { admin.Close() })
			adminURL := "redis://:" + adminPassword + "@" + addr
			roster := filepath.Join(t.TempDir(), "class.txt")

			r := claimsctl(t, "", nil, "class", "add", "alice", "bob", "carol", "--redis", adminURL, "-o", roster)
			require.Equal(t, 0, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stderr, "3 students' URLs written to "+roster)
			info, err := os.Stat(roster)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the URLs hold passwords")
			raw, err := os.ReadFile(roster)
			require.NoError(t, err)
			for _, out := range []string{r.stdout, r.stderr, string(raw)} {
				assert.NotContains(t, out, adminPassword)
			}
			urls := map[string]string{}
			for line := range strings.Lines(string(raw)) {
				student, url, ok := strings.Cut(strings.TrimSpace(line), " ")
				require.True(t, ok, line)
				assert.Regexp(t, `^redis://`+student+`:[A-Z2-7]{26}@`+addr+`$`, url)
				urls[student] = url
			}
			require.Len(t, urls, 3)

			// The three run the lab side by side, each with its URL alone.
			steps := labSteps(t)
			var wg sync.WaitGroup
			for student, url := range urls {
				wg.Go(func() {
					dir := studentDir(t)
					env := append([]string{"REDIS_URL=" + url}, labEnv...)
					for _, step := range steps {
						r := claimsctlIn(t, dir, "", env, "run", step)
						if !assert.Equal(t, 0, r.code, "%s %s\nstdout:\n%s\nstderr:\n%s", student, step, r.stdout, r.stderr) {
							return
						}
						assert.Contains(t, r.stderr+r.stdout, "keys under "+student+": (all that user "+student+" may touch)", step)
						assert.NotContains(t, r.stdout, "FAIL", "%s %s", student, step)
						assert.Contains(t, r.stdout, "Now you should see", "%s %s", student, step)
						for line := range strings.Lines(r.stdout) {
							if strings.Contains(line, "redis-cli -") {
								assert.Contains(t, line, " --user "+student+" --askpass ", "a hint's redis-cli logs in as the student")
							}
						}
						if filepath.Base(step) == "step01.lua" {
							assert.Contains(t, r.stdout, "whoever runs it can turn AOF on", "a student may not CONFIG SET")
						}
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			// A student's hand-ins are graded with the URL alone too.
			r = claimsctl(t, "", []string{"REDIS_URL=" + urls["carol"]}, "check", "scripts/exercises/solutions")
			require.Equal(t, 0, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stdout, "9 passed, 0 failed")

			// Every key the lab made is under its student's prefix; the
			// instructor's own is the class's quotas (class add).
			ctx := context.Background()
			keys := scanAll(t, admin)
			require.NotEmpty(t, keys)
			for _, k := range keys {
				assert.Regexp(t, `^((alice|bob|carol):|\{claimsctl\}:class:quotas$)`, k)
			}
			for _, student := range []string{"alice", "bob", "carol"} {
				n, err := admin.Exists(ctx, student+":claims:meta").Result()
				require.NoError(t, err)
				assert.Equal(t, int64(1), n, "%s has a keyspace of its own", student)
			}

			// Alice through claimsctl: bob's keys and admin commands are
			// refused, and the refusal names no password.
			aliceEnv := []string{"REDIS_URL=" + urls["alice"]}
			for _, code := range []string{
				`print(redis("XLEN", "bob:claims:meta"))`,
				`redis("XADD", "bob:claims:events", "*", "type", "claim.submitted")`,
				`redis("DEL", "bob:claims:meta")`,
				`redis("FLUSHALL")`,
				`redis("CONFIG", "GET", "requirepass")`,
				`redis("KEYS", "*")`,
				`redis("ACL", "SETUSER", "alice", "~*")`,
			} {
				r := claimsctl(t, "", aliceEnv, "-e", code)
				assert.Equal(t, 1, r.code, "%s\n%s%s", code, r.stdout, r.stderr)
				assert.Contains(t, r.stderr, "NOPERM", code)
				assert.NotContains(t, r.stdout+r.stderr, adminPassword, code)
			}
			n, err := admin.Exists(ctx, "bob:claims:meta").Result()
			require.NoError(t, err)
			assert.Equal(t, int64(1), n, "bob's keys are still there")

			r = claimsctl(t, "", nil, "class", "list", "--redis", adminURL)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, "alice\nbob\ncarol\n", r.stdout)

			r = claimsctl(t, "", nil, "class", "remove", "bob", "--redis", adminURL)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, r.stdout, "removed bob (its keys bob:* stay")
			r = claimsctl(t, "", []string{"REDIS_URL=" + urls["bob"]}, "-e", "print(1)")
			assert.Equal(t, 4, r.code, "bob's URL no longer works: %s", r.stderr)
			assert.Contains(t, r.stderr, "refused the password")
			assert.NotContains(t, r.stderr, urls["bob"][len("redis://bob:"):][:26], "nor is his password printed")

			r = claimsctl(t, "", nil, "class", "remove", "carol", "--delete-keys", "--redis", adminURL)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Regexp(t, `removed carol and its \d+ keys \(carol:\*\)`, r.stdout)
			left := scanAll(t, admin)
			assert.NotEmpty(t, left)
			for _, k := range left {
				assert.Regexp(t, `^((alice|bob):|\{claimsctl\}:class:quotas$)`, k, "carol's keys are gone, the others' stay")
			}
		})
	}
}

// requirePassword gives the node at addr's default user adminPassword
// (replicas use it to reach their master), once it has started: the test
// helpers wait for a PING without one.
func requirePassword(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	require.NoError(t, c.ConfigSet(context.Background(), "masterauth", adminPassword).Err())
	require.NoError(t, c.ConfigSet(context.Background(), "requirepass", adminPassword).Err())
}

// scanAll is every key of the server, or of every master of a cluster.
func scanAll(t *testing.T, rdb redis.UniversalClient) []string {
	t.Helper()
	ctx := context.Background()
	var (
		mu  sync.Mutex
		out []string
	)
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	}
	require.NoError(t, err)
	return out
}

// TestClassRefusals: class add refuses the embedded server (it enforces
// no ACL), bad names and misplaced flags, before writing anything.
func TestClassRefusals(t *testing.T) {
	t.Parallel()
	r := claimsctl(t, "", nil, "class", "add", "alice", "--embedded")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "the embedded server does not enforce ACLs")

	srv := redistest.Start(t)
	requirePassword(t, srv.Addr())
	adminURL := "redis://:" + adminPassword + "@" + srv.Addr()
	out := filepath.Join(t.TempDir(), "class.txt")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"class", "add", "al*ce", "-o", out}, `student "al*ce": a name is 1 to 64 letters`},
		{[]string{"class", "add", "default", "-o", out}, `that is Redis's own user`},
		{[]string{"class", "add", "alice", "alice", "-o", out}, `student "alice" is named twice`},
		{[]string{"class", "add", "-o", out}, "class add needs the students' names"},
		{[]string{"class", "list", "alice"}, "class list takes no names"},
		{[]string{"class", "remove", "alice", "-o", out}, "-o is a flag of class add, not of class remove"},
		{[]string{"class", "add", "alice", "-o", filepath.Join(out, "no", "such")}, "-o: the folder"},
		{[]string{"class", "ad", "alice"}, "no such action (add, list, remove, watch); did you mean add?"},
		{[]string{"class", "watch", "alice"}, "class watch takes no names, got alice"},
		{[]string{"class", "list", "--every", "1s"}, "--every is a flag of class watch, not of class list"},
		{[]string{"class", "remove", "alice", "--redis-quota", "1MiB"}, "--redis-quota is a flag of class add or watch, not of class remove"},
		{[]string{"class", "watch", "--every", "0s"}, "--every must be above 0"},
		{[]string{"class", "remove", "alice"}, "alice: not a student: no such user"},
		{[]string{"class", "add", "alice", "--prefix", "alice:"}, "--prefix is not for class"},
	} {
		r := claimsctl(t, "", nil, append(c.args, "--redis", adminURL)...)
		assert.Equal(t, 2, r.code, "%v: %s", c.args, r.stderr)
		assert.Contains(t, r.stderr, c.want, c.args)
		assert.NotContains(t, r.stdout+r.stderr, adminPassword, c.args)
	}
	assert.NoFileExists(t, out)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: adminPassword})
	defer admin.Close()
	users, err := admin.Do(context.Background(), "ACL", "USERS").StringSlice()
	require.NoError(t, err)
	assert.Equal(t, []string{"default"}, users, "nothing made")

	// A user whose ACL allows neither the lab's keys nor its own prefix
	// is told to give --prefix.
	require.NoError(t, admin.Do(context.Background(), "ACL", "SETUSER", "ops", "on", ">ops-pw", "~metrics:*", "+@all").Err())
	r = claimsctl(t, "", []string{"REDIS_URL=redis://ops:ops-pw@" + srv.Addr()}, "-e", "print(1)")
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "the Redis user ops: its ACL allows none of the lab's keys (claims:…) nor those under ops:")
	r = claimsctl(t, "", []string{"REDIS_URL=redis://ops:ops-pw@" + srv.Addr()}, "--prefix", "metrics:", "-e", "print(1)")
	assert.Equal(t, 0, r.code, r.stderr)

	r = claimsctl(t, "", nil, "class", "add", "alice", "--redis", "redis://:wrong@"+srv.Addr())
	assert.Equal(t, 4, r.code, r.stderr)
	assert.NotContains(t, r.stdout+r.stderr, "wrong@")
}

// TestClassWatchHoldsAStudentToItsQuota: what ACLs cannot bound, class
// watch does: a student filling the server with its own keys has its
// writes refused soon after it passes the quota class add recorded,
// while another student writes on; once it deletes, it writes again.
func TestClassWatchHoldsAStudentToItsQuota(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { admin.Close() })
	roster := filepath.Join(t.TempDir(), "class.txt")
	r := claimsctl(t, "", nil, "--redis", srv.URL(), "class", "add", "alice", "bob", "--redis-quota", "1MiB", "-o", roster)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "quota of each: 1.0 MiB and 10000 keys")
	urls := map[string]string{}
	text, err := os.ReadFile(roster)
	require.NoError(t, err)
	for line := range strings.Lines(string(text)) {
		name, url, _ := strings.Cut(strings.TrimSpace(line), " ")
		urls[name] = url
	}

	watch := exec.Command(binary, "--redis", srv.URL(), "class", "watch", "--every", "100ms")
	watch.Env = cleanEnv()
	var out, errOut output
	watch.Stdout, watch.Stderr = &out, &errOut
	require.NoError(t, watch.Start())
	t.Cleanup(func() { _ = watch.Process.Kill(); _ = watch.Wait() })
	require.Eventually(t, func() bool { return strings.Contains(errOut.String(), "watching the class every 100ms") },
		time.Minute, 20*time.Millisecond, errOut.String())

	// 100 KB a write, 20 a second: past 1 MiB in about half a second.
	fill := `local chunk = string.rep("x", 100000)
for i = 1, 1000 do redis("SET", key("big" .. i), chunk); sleep(50) end`
	r = claimsctl(t, "", []string{"REDIS_URL=" + urls["alice"]}, "-e", fill)
	assert.NotEqual(t, 0, r.code, "alice is stopped before she wrote 100 MB")
	assert.Contains(t, r.stderr, "NOPERM")
	assert.Regexp(t, `alice: [0-9.]+ MiB in \d+ keys, over its quota of 1.0 MiB and 10000 keys: its writes are refused`, out.String())
	keys, err := admin.Keys(context.Background(), "alice:*").Result()
	require.NoError(t, err)
	assert.Less(t, len(keys), 30, "refused within a few of the watch's measurements of 100 ms")

	r = claimsctl(t, "", []string{"REDIS_URL=" + urls["bob"]}, "-e", `redis("SET", key("mine"), "x"); print("bob wrote")`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "bob wrote")

	r = claimsctl(t, "", []string{"REDIS_URL=" + urls["alice"]}, "-e", `for i = 1, 1000 do redis("DEL", key("big" .. i)) end`)
	require.Equal(t, 0, r.code, "deleting is left to her: %s", r.stderr)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "back under its quota") },
		time.Minute, 20*time.Millisecond, out.String())
	r = claimsctl(t, "", []string{"REDIS_URL=" + urls["alice"]}, "-e", `redis("SET", key("again"), "x"); print("alice wrote")`)
	assert.Equal(t, 0, r.code, r.stderr)

	require.NoError(t, watch.Process.Signal(syscall.SIGINT))
	assert.NoError(t, watch.Wait(), "Ctrl-C ends a watch with exit 0")
}
