// Package cluster is the multi-node test harness: it starts N real davit
// agent processes, each in its own network namespace with its own address
// on a bridge that lives in a namespace of its own (the host's network is
// never touched), and offers kill -9, stop, restart, cut-off (link down),
// nftables partitions and heal. Where namespaces are not allowed it falls
// back to loopback ports and the partition helpers skip the test with the
// reason. Every process it starts it ends by PID; every namespace and data
// directory it makes it removes.
package cluster
