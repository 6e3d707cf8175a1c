// Package integration holds the tests that run the real daemon and plugin
// binaries together against fake platforms on loopback.
package integration
