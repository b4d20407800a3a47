// Package event defines the one Event type that live capture and replay both
// produce, and that the field extractors and the rules engine read. An Event
// is a syscall (or process-lifecycle) event plus the context a rule needs:
// the thread and its ancestors, the file descriptor it touched, the user and
// the container. It knows nothing of rules or of the kernel.
package event
