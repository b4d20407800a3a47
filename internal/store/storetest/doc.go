// Package storetest starts real databases for tests: a throwaway
// PostgreSQL cluster from Debian's postgresql package that a test can crash
// and start again, to show what survives a restart.
//
// It is imported by tests only; it holds no fakes.
package storetest
