// Package glob is the project's one shell-style pattern matcher: Falco's
// glob and iglob operators and the response config's rule, tag, container
// and image patterns use it. It matches bytes, not paths ('*' crosses '/'),
// never allocates and runs in O(len(pattern)*len(s)) at worst. It does not
// compile patterns or expand them against a file system.
package glob
