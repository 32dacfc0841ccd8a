// Package raftstoretest gives tests a real one-node raftstore.Store on
// loopback: bootstrapped, leader, with short Raft timeouts, closed when the
// test ends. Controllers' tests use it as their cluster's state, so their
// writes are the real Raft commands.
package raftstoretest
