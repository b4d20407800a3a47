// Package atomicfile replaces a file only once its new content is complete:
// the content goes to a temporary file beside it, which is renamed over the
// old one when every write succeeded. A failed or interrupted writer never
// leaves a partial file, and readers see the old file or the new, never a
// mix. It does not fsync: the aim is no torn output, not durability.
package atomicfile
