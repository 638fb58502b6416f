package handlers

import (
	"context"
	"sync"
	"time"
)

// jobs is a small queue of work taken off the request path, so that an
// answer does not take longer when, say, an email is registered: the
// request only queues the job, whatever the job will find. StartBackground
// runs the queue; on shutdown the jobs already queued are finished.
type jobs struct {
	queue chan job

	mu      sync.Mutex
	idle    *sync.Cond
	pending int // queued or running
}

// job is one piece of background work; its error is logged with its name.
type job struct {
	name string
	run  func(context.Context) error
}

// jobTimeout bounds one job, so that shutdown never waits long for one.
const jobTimeout = 5 * time.Second

func newJobs() *jobs {
	j := &jobs{queue: make(chan job, 256)}
	j.idle = sync.NewCond(&j.mu)
	return j
}

// enqueue queues run. Only when the queue is full does it wait, for as long
// as ctx (the request) lasts.
func (s *Server) enqueue(ctx context.Context, name string, run func(context.Context) error) error {
	s.jobs.mu.Lock()
	s.jobs.pending++
	s.jobs.mu.Unlock()
	select {
	case s.jobs.queue <- job{name: name, run: run}:
		return nil
	case <-ctx.Done():
		s.jobs.finished()
		return ctx.Err()
	}
}

func (j *jobs) finished() {
	j.mu.Lock()
	j.pending--
	if j.pending == 0 {
		j.idle.Broadcast()
	}
	j.mu.Unlock()
}

// runJobs runs queued jobs one at a time until ctx is done, then finishes
// those already queued (requests in flight were drained before) and
// returns. A job never sees ctx's cancellation: shutdown must not cut a
// reset email off halfway; each job gets jobTimeout instead.
func (s *Server) runJobs(ctx context.Context) {
	for {
		select {
		case jb := <-s.jobs.queue:
			s.runJob(ctx, jb)
		case <-ctx.Done():
			for {
				select {
				case jb := <-s.jobs.queue:
					s.runJob(ctx, jb)
				default:
					return
				}
			}
		}
	}
}

func (s *Server) runJob(ctx context.Context, jb job) {
	defer s.jobs.finished()
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("background job panicked", "job", jb.name, "panic", v)
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
	defer cancel()
	if err := jb.run(ctx); err != nil {
		s.logger.Error("background job", "job", jb.name, "err", err)
	}
}

// WaitBackground returns once every queued background job has run: tests
// call it before looking at what a job does, and the command calls it on
// shutdown before closing the database.
func (s *Server) WaitBackground() {
	s.jobs.mu.Lock()
	for s.jobs.pending > 0 {
		s.jobs.idle.Wait()
	}
	s.jobs.mu.Unlock()
}
