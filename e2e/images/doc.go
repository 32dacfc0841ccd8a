// Package e2eimages holds the end-to-end tests of images (issue 4): real
// agent processes import real image files (made with qemu-img, xorriso,
// gzip, xz and bzip2) from an HTTP server the test runs on loopback, from
// container registries (go-containerregistry's in-process registry and
// Debian's docker-registry), from uploads sent with curl and `davit
// upload`, and copy them between nodes of a real cluster. The admin
// guide's Images chapter is run command by command with davit.
package e2eimages
