// Package store keeps alerts so they can be queried later and survive a
// crash: an embedded SQLite database (modernc.org/sqlite, no cgo) by
// default and PostgreSQL (pgx) for fleets, behind one Store interface and
// one SQL implementation. An Insert that returned nil is committed: the
// alerts are on disk and survive a kill of the process. Retention prunes by
// age and by count.
//
// It does not decide what to store or when; outputs batches alerts into it.
package store
