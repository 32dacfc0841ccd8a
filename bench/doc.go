// Command bench is `make bench`: it measures davit's headline figures,
// each against a baseline measured in the same run, and prints the ratio.
//
//   - Raft writes: resource writes per second through the HTTP API of real
//     agent processes (64 concurrent clients; one node, then three nodes on
//     loopback with clients spread over all of them) against bare
//     hashicorp/raft applies of entries of the same size with a no-op FSM
//     on raft-boltdb in a temporary directory of the same filesystem.
//   - VM start: davit's qemu.Start of the test guest to QMP "running" and to
//     the guest's serial marker, against a bare qemu-system-x86_64 launch of
//     the same command line (TCG on the build machines).
//   - Scheduler: placements per second, 10,000 VMs over 1,000 synthetic
//     nodes.
//   - CPU guarantee: busy groups placed through the cgroup package whose
//     coreFraction guarantees add up to the node's CPUs; each group's
//     measured CPU divided by its guarantee, and one uncontended 20% VM
//     bursting to its full cores.
//   - Image import: a 512 MiB raw image imported over HTTP by an agent
//     (download, checksum, conversion, store) against `curl -o`.
package main
