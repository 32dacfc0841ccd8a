// Package qemutest gives tests (and benchmarks) davit's test guest and
// the checks that skip a test, with the reason, on a machine without
// QEMU or the tools to build the guest.
//
// The guest is built by scripts/build-test-guest.sh into a cache
// directory: $DAVIT_GUEST_DIR, else build/guest under the module root.
// The script is cached by its own hash, so calling Guest from every test
// costs a few milliseconds after the first build.
package qemutest
