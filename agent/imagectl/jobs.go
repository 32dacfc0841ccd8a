package imagectl

import (
	"context"
	"errors"
	"sync"
)

// errNotRunning: the controller is not running (before Run, or after).
var errNotRunning = errors.New("the image controller is not running")

// jobs owns the goroutines of running imports, uploads and fetches, one
// per key. Run opens it and closes it on the way out; close cancels every
// job and waits for it.
type jobs struct {
	mu  sync.Mutex
	ctx context.Context // nil while closed
	m   map[string]*job
	wg  sync.WaitGroup
}

// job is one running piece of work on an image (gen and uid say which
// version of it) or a blob.
type job struct {
	gen    int64
	uid    string
	cancel context.CancelFunc
}

// open makes the registry accept jobs, children of ctx.
func (j *jobs) open(ctx context.Context) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ctx, j.m = ctx, map[string]*job{}
}

// close cancels every job and waits until all have ended.
func (j *jobs) close() {
	j.mu.Lock()
	j.ctx = nil
	for _, jb := range j.m {
		jb.cancel()
	}
	j.mu.Unlock()
	j.wg.Wait()
}

// register adds a job run by the caller's goroutine (an upload handler).
// The job's context ends with parent, with the registry, or on cancel;
// release must be called when the work ends. A key already taken fails.
func (j *jobs) register(parent context.Context, key string, gen int64, uid string) (context.Context, func(), error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ctx == nil {
		return nil, nil, errNotRunning
	}
	if _, busy := j.m[key]; busy {
		return nil, nil, errBusy
	}
	ctx, cancel := context.WithCancel(j.ctx)
	stop := context.AfterFunc(parent, cancel)
	jb := &job{gen: gen, uid: uid, cancel: cancel}
	j.m[key] = jb
	j.wg.Add(1)
	release := func() {
		stop()
		cancel()
		j.mu.Lock()
		if j.m[key] == jb {
			delete(j.m, key)
		}
		j.mu.Unlock()
		j.wg.Done()
	}
	return ctx, release, nil
}

// errBusy: a job with that key is running.
var errBusy = errors.New("already in progress")

// start runs fn in a new goroutine as the job key, unless that key runs.
func (j *jobs) start(key string, gen int64, uid string, fn func(ctx context.Context)) bool {
	ctx, release, err := j.register(context.Background(), key, gen, uid)
	if err != nil {
		return false
	}
	go func() {
		defer release()
		fn(ctx)
	}()
	return true
}

// stopping reports whether the registry is closed or closing.
func (j *jobs) stopping() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ctx == nil || j.ctx.Err() != nil
}

// cancel stops the job key, if it runs.
func (j *jobs) cancel(key string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if jb, ok := j.m[key]; ok {
		jb.cancel()
	}
}

// get returns the running job key.
func (j *jobs) get(key string) (job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	jb, ok := j.m[key]
	if !ok {
		return job{}, false
	}
	return *jb, true
}

// snapshot returns the running jobs by key.
func (j *jobs) snapshot() map[string]job {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make(map[string]job, len(j.m))
	for k, jb := range j.m {
		out[k] = *jb
	}
	return out
}
