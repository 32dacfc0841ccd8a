package raftstore

import "sync"

// leadership fans Raft's leadership notifications out to subscribers. Each
// subscriber has a one-slot channel that always holds the latest state, so
// a slow subscriber never blocks Raft and never sees an old value last.
type leadership struct {
	mu     sync.Mutex
	subs   map[chan bool]struct{}
	closed bool
}

func (l *leadership) subscribe(current bool) chan bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan bool, 1)
	if l.closed {
		close(ch)
		return ch
	}
	if l.subs == nil {
		l.subs = map[chan bool]struct{}{}
	}
	l.subs[ch] = struct{}{}
	ch <- current
	return ch
}

func (l *leadership) unsubscribe(ch chan bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.subs[ch]; ok {
		delete(l.subs, ch)
		close(ch)
	}
}

func (l *leadership) publish(leader bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs {
		select { // drop the unread older value: only the latest matters
		case <-ch:
		default:
		}
		ch <- leader
	}
}

func (l *leadership) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for ch := range l.subs {
		close(ch)
	}
	l.subs = nil
}

// SubscribeLeadership returns a channel that first holds whether this node
// leads now, then true each time it becomes leader and false each time it
// stops. The channel keeps only the latest value (a reader that sees true
// twice lost leadership in between). It is closed by cancel or Close.
// Controllers that run only on the leader start on true and stop on false.
func (s *Store) SubscribeLeadership() (ch <-chan bool, cancel func()) {
	c := s.leaders.subscribe(s.IsLeader())
	return c, func() { s.leaders.unsubscribe(c) }
}

// runLeadership consumes Raft's NotifyCh (Raft blocks on it) until Close.
func (s *Store) runLeadership() {
	defer s.wg.Done()
	for {
		select {
		case leader := <-s.notifyCh:
			s.log.Info("leadership changed", "leader", leader, "node", s.cfg.NodeID)
			s.leaders.publish(leader)
		case <-s.stopCh:
			return
		}
	}
}
